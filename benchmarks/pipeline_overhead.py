"""Pipeline overhead: how much longer the whole `Formalizer` takes than the LLM calls it makes.

200 inputs x 8 samples go through retrieval of few-shot examples, generation, extraction, parsing, the
safety gate, Lean (the stand-in REPL, 2 worker processes), back-translation (one request per canonical
cluster), embedding similarity, scoring and ranking, with a fresh SQLite cache (writes included). The LLM is
`OpenAIStubServer` with a fixed latency per request, in its own process (as vLLM would be), so its timers do
not compete with the pipeline for the GIL.

"LLM time" is measured, not computed: the very same requests (every generation and back-translation request
the pipeline sent) are replayed straight through the backend, all at once, under the same concurrency limit.
That ignores the dependency of back-translations on generations, so it is a lower bound and the ratio is
conservative. Construction (model loading, REPL start, header elaboration) is excluded from both: it is paid
once per process, not per input.

    python benchmarks/pipeline_overhead.py [--inputs 200] [--samples 8] [--latency-s 2.0]

The last stdout line is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _shared import record_requests  # noqa: E402  (the script's own directory)


def responder(request: dict[str, Any]) -> list[str]:
    """Answers like a formalization model: per input three readings (one unfaithful, one failing Lean's
    duplicate-declaration rule) spread over the samples; back-translations are one English sentence."""
    prompt = request["messages"][-1]["content"]
    n = int(request.get("n") or 1)
    if "<lean_statement>" in prompt:
        return [f"For every natural number n, the statement {abs(hash(prompt)) % 997} holds."] * n
    i = int(re.findall(r"n \+ (\d+) = ", prompt)[-1])
    readings = [
        f"```lean\ntheorem p{i} (n : ℕ) (h : 0 < n) : n + {i} = {i} + n := by\n  omega\n```",
        f"Sure.\n```lean\ntheorem q{i} (m : ℕ) (hm : 0 < m) : m + {i} = {i} + m := by sorry\n```",
        f"```lean\ntheorem r{i} (n : ℕ) : n * {i} = {i} * n := by sorry\n```",
        f"```lean\ndef c : ℕ := {i}\ndef c : ℕ := {i}\ntheorem s{i} (n : ℕ) : n + c = c + n := by sorry\n```",
    ]
    return [readings[j % len(readings)] for j in range(n)]


def serve(latency_s: float) -> None:
    from autoformal.testing.openai_server import OpenAIStubServer

    with OpenAIStubServer(responder, latency_s=latency_s) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin
        print(json.dumps({"requests": len(server.chat_requests)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=200)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--latency-s", type=float, default=2.0, help="Fixed latency of every LLM request.")
    parser.add_argument("--concurrency", type=int, default=None, help="Inputs in flight (default: config).")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.latency_s)
        return

    from autoformal.checking import ReplCheckerConfig
    from autoformal.config import FormalizerConfig
    from autoformal.llm import GenerationRequest, OpenAIBackendConfig, OpenAICompatibleBackend
    from autoformal.pipeline import Formalizer
    from autoformal.testing.standin_repl import install_standin

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--latency-s", str(args.latency_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    base_url = server.stdout.readline().strip()
    texts = [f"Show that for every positive natural number n, n + {i} = {i} + n." for i in range(args.inputs)]
    with tempfile.TemporaryDirectory() as tmp:
        standin = install_standin(Path(tmp) / "proj")
        backend_config = OpenAIBackendConfig(base_url=base_url, model="stub-model")
        overrides: dict[str, Any] = {"concurrency": args.concurrency} if args.concurrency else {}
        config = FormalizerConfig(
            backend=backend_config,
            checker=ReplCheckerConfig(
                project_dir=standin.directory, repl_dir=standin.directory, lake_path=standin.lake
            ),
            cache_path=Path(tmp) / "cache.sqlite",
            samples=args.samples,
            retrieval="off",
            **overrides,
        )
        with Formalizer(config) as formalizer:
            formalizer.warm_up()
            sent: list[GenerationRequest] = record_requests(formalizer.parts.raw_backend)
            assert formalizer.checker is not None
            warm = getattr(getattr(formalizer.checker, "checker", formalizer.checker), "warm_up", None)
            if warm is not None:
                asyncio.run(warm(config.header))
            load_before = os.getloadavg()[0]
            start = time.perf_counter()
            results = formalizer.formalize_many(texts)
            wall = time.perf_counter() - start

        baseline_backend = OpenAICompatibleBackend(backend_config)
        start = time.perf_counter()
        asyncio.run(baseline_backend.agenerate(sent))
        llm_only = time.perf_counter() - start
        baseline_backend.close()
    server.stdin.close()
    server_report = json.loads(server.stdout.readline())
    server.wait(timeout=30)

    ranked = sum(1 for r in results if r.best is not None)
    stages = sorted({k for r in results for k in r.timings})
    mean_stage_s = {k: round(sum(r.timings.get(k, 0.0) for r in results) / len(results), 3) for k in stages}
    print(f"inputs {len(texts)} x {args.samples} samples; {len(sent)} LLM requests; latency {args.latency_s} s")
    print(f"pipeline wall time {wall:.2f} s; the same LLM requests alone {llm_only:.2f} s")
    print(f"ratio {wall / llm_only:.3f} (target <= 1.05); inputs with a ranked candidate: {ranked}")
    print(f"mean seconds per input and stage (stages overlap across inputs): {mean_stage_s}")
    print(
        json.dumps(
            {
                "inputs": len(texts),
                "samples": args.samples,
                "latency_s": args.latency_s,
                "llm_requests": len(sent),
                "server_requests": server_report["requests"],
                "concurrency_inputs": config.concurrency,
                "llm_max_concurrency": backend_config.max_concurrency,
                "wall_s": round(wall, 3),
                "llm_only_s": round(llm_only, 3),
                "ratio": round(wall / llm_only, 4),
                "inputs_ranked": ranked,
                "mean_stage_s": mean_stage_s,
                "load_avg_1m_before": round(load_before, 2),
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
