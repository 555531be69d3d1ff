"""The three batch entry points on the same inputs: `Formalizer.formalize_many`, `bulk.run_bulk` and
`docstrings.formalize_docstrings`, each on the same `--inputs` (200) informal texts, against a loopback
OpenAI-compatible server with a fixed `--latency-s` (0.5 s) and the stand-in Lean REPL.

The texts are the docstring claims of a generated Python module with one documented function per input (what
`autoformal docstrings` asks the model); `formalize_many` gets them with the module's trusted context, as
`docstrings` does; `bulk` has no context field, so it gets the texts and header alone. Every runner uses its
default inputs in flight (since the stage redesign all three run on `autoformal.batch` with the configured
inputs limit and the input-embedding prefetch). The pipeline is the default one (back-translation on, k=4
samples, Lean on the stand-in REPL) except retrieval (no index here) and the cache (off, so every run does
the work). One embedder instance is shared, so no run pays the model load.

    .venv/bin/python benchmarks/batch_runners.py [--inputs 200] [--latency-s 0.5]

formalize_many runs first and again last (the machine's load drifts); the ratios divide by the mean of the
two. The last stdout line is a JSON object: seconds per input for each runner and bulk's and docstrings'
ratio to formalize_many (≤ 1: at least as fast per input), with the 1-minute load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _shared import load_average  # noqa: E402  (the script's own directory, after the path set-up)


def _module(count: int) -> str:
    functions = [
        f'def add_{i}(n: int) -> int:\n    """Return n plus {i}, which is at least n."""\n'
        f"    return n + {i}\n"
        for i in range(count)
    ]
    return "\n\n".join(functions)


def _responder(request: dict[str, Any]) -> list[str]:
    prompt = request["messages"][-1]["content"]
    n = int(request.get("n") or 1)
    if "<lean_statement>" in prompt:
        return ["For every natural number n, n plus a constant is at least n."] * n
    return [f"```lean\ntheorem claim_{j} (n : ℕ) : n ≤ n + {j % 2} := by sorry\n```" for j in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--inputs", type=int, default=200)
    parser.add_argument("--latency-s", type=float, default=0.5)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--lean-workers", type=int, default=2)
    args = parser.parse_args()

    from autoformal.bulk import BulkSummary, JsonlAppender, Problem, run_bulk
    from autoformal.checking import ReplCheckerConfig
    from autoformal.config import FormalizerConfig
    from autoformal.docstrings import formalize_docstrings, plan_docstrings
    from autoformal.docstrings.spec import informal_text
    from autoformal.llm import OpenAIBackendConfig
    from autoformal.pipeline import Formalizer
    from autoformal.retrieval.embedder import Embedder
    from autoformal.syntax import parse_document
    from autoformal.testing.openai_server import OpenAIStubServer
    from autoformal.testing.standin_repl import install_standin

    embedder = Embedder()
    figures: dict[str, Any] = {"inputs": args.inputs, "latency_s": args.latency_s, "samples": args.samples}
    with tempfile.TemporaryDirectory() as tmp, OpenAIStubServer(_responder, latency_s=args.latency_s) as server:
        work = Path(tmp)
        source = work / "module.py"
        source.write_text(_module(args.inputs), encoding="utf-8")
        standin = install_standin(work / "proj")
        config = FormalizerConfig(
            backend=OpenAIBackendConfig(base_url=server.base_url, model=server.model),
            checker=ReplCheckerConfig(
                project_dir=standin.directory,
                repl_dir=standin.directory,
                lake_path=standin.lake,
                num_workers=args.lean_workers,
            ),
            samples=args.samples,
            retrieval="off",
            cache=False,
        )
        report = plan_docstrings(source, header=config.header)
        claims = report.pending_claims()[: args.inputs]
        assert len(claims) == args.inputs, f"{len(claims)} claims for {args.inputs} inputs"
        report.functions = [f for f in report.functions if any(f is g for g, _ in claims)]
        texts = [informal_text(f, c) for f, c in claims]

        def timed(name: str, run: Callable[[Formalizer], Any]) -> None:
            parse_document.cache_clear()  # each run parses its candidates afresh, not from the previous run's
            with Formalizer(config, embedder=embedder) as formalizer:
                formalizer.warm_up()
                before = len(server.chat_requests)
                load = load_average()
                start = time.perf_counter()
                run(formalizer)
                wall = time.perf_counter() - start
                figures[name if name not in figures else f"{name}_again"] = {
                    "wall_s": round(wall, 2),
                    "s_per_input": round(wall / args.inputs, 4),
                    "llm_requests": len(server.chat_requests) - before,
                    "load_avg_1m_before": load,
                }
            print(f"{name}: {wall:.1f} s for {args.inputs} inputs (load {load})", file=sys.stderr)

        def many(formalizer: Formalizer) -> None:
            results = formalizer.formalize_many(
                texts, headers=[report.header] * len(texts), contexts=[report.context] * len(texts)
            )
            assert all(r.best is not None for r in results), [r.errors for r in results if r.best is None][:3]

        def bulk(formalizer: Formalizer) -> None:
            problems = [Problem(id=str(i), text=t, header=report.header, line=i + 1) for i, t in enumerate(texts)]
            summary = BulkSummary()
            with JsonlAppender(work / f"bulk-{time.monotonic_ns()}.jsonl") as writer:
                asyncio.run(run_bulk(problems, formalizer, writer, summary))
            assert summary.written == summary.with_candidate == args.inputs, summary

        def docstrings(formalizer: Formalizer) -> None:
            asyncio.run(formalize_docstrings(report, formalizer))
            assert all(c.result is not None and c.result.best is not None for _, c in claims)

        timed("formalize_many", many)
        timed("bulk", bulk)
        timed("docstrings", docstrings)
        timed("formalize_many", many)  # again last: the machine's load drifts, so the baseline brackets the others
    base = (figures["formalize_many"]["s_per_input"] + figures["formalize_many_again"]["s_per_input"]) / 2
    figures["bulk_vs_formalize_many"] = round(figures["bulk"]["s_per_input"] / base, 3)
    figures["docstrings_vs_formalize_many"] = round(figures["docstrings"]["s_per_input"] / base, 3)
    figures["load_avg_1m_after"] = load_average()
    figures["cpus"] = os.cpu_count()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
