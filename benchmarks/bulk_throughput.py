"""Bulk throughput: problems/s for `--problems` (1000) synthetic problems through `run_bulk` + the real
`Formalizer` at `--concurrency` (64) against a loopback OpenAI-compatible server with a fixed `--latency-s`
(0.5 s), compared with the LLM-bound ideal.

The LLM-bound ideal: the backend keeps at most `concurrency` requests in flight and each takes `latency_s`, so
no client can finish more than `concurrency / latency_s` requests per second; with `r` requests per problem
(counted from the server's own log) the ideal is `concurrency / (latency_s * r)` problems/s. `efficiency` is
measured / ideal. Everything else runs for real: extraction, parsing, the safety gate, ranking, and the
crash-safe appender (fsync every 1 s). Lean is off by default (`--lean` adds the stand-in REPL with
`--lean-workers` processes); retrieval, few-shot examples and back-translation are off (they need an index /
the sentence encoder, which this benchmark does not measure).

The server runs in-process on its own thread (its request log is the request count), so it shares this process's
GIL: the measured figure is a lower bound on what the client achieves against a separate server.

    .venv/bin/python benchmarks/bulk_throughput.py [--problems 1000] [--latency-s 0.5] [--concurrency 64]

The last stdout line is a JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from autoformal.bulk import BulkOptions, BulkSummary, open_output, plan_bulk, run_bulk
from autoformal.checking import ReplCheckerConfig
from autoformal.config import FormalizerConfig
from autoformal.llm import OpenAIBackendConfig
from autoformal.pipeline import Formalizer
from autoformal.testing.openai_server import OpenAIStubServer
from autoformal.testing.standin_repl import install_standin


def _write_problems(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(count):
            f.write(json.dumps({"id": f"b{i:05d}", "informal": f"Show that {i} + n = n + {i} for every natural n."}))
            f.write("\n")


async def _run(args: argparse.Namespace, workdir: Path, server: OpenAIStubServer) -> tuple[BulkSummary, float]:
    problems, out = workdir / "problems.jsonl", workdir / "out.jsonl"
    _write_problems(problems, args.problems)
    settings: dict[str, object] = {
        "backend": OpenAIBackendConfig(base_url=server.base_url, model=server.model, max_concurrency=args.concurrency),
        "samples": args.samples,
        "lean": args.lean,
        "retrieval": "off",
        "examples": 0,
        "backtranslation": False,
        "cache": False,
        "concurrency": args.concurrency,
    }
    if args.lean:
        standin = install_standin(workdir / "proj")
        settings["checker"] = ReplCheckerConfig(
            project_dir=standin.directory,
            repl_dir=standin.directory,
            lake_path=standin.lake,
            num_workers=args.lean_workers,
        )
    options = BulkOptions(concurrency=args.concurrency)
    summary = BulkSummary()
    async with Formalizer(FormalizerConfig(**settings)) as formalizer:  # type: ignore[arg-type]
        # build the statement parser once before timing (a one-off ~2 s grammar construction)
        from autoformal.syntax import parse_document

        parse_document("theorem warm (n : ℕ) : n = n := sorry")
        writer, _ = open_output(out, options, summary)
        with writer:
            plan = plan_bulk(problems, options)
            started = time.perf_counter()
            await run_bulk(plan.todo, formalizer, writer, summary, concurrency=args.concurrency)
            wall = time.perf_counter() - started
    lines = out.read_bytes().count(b"\n")
    assert lines == args.problems == summary.written, (lines, summary.written)
    return summary, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--problems", type=int, default=1000)
    parser.add_argument("--latency-s", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--lean", action="store_true", help="Check candidates with the stand-in Lean REPL.")
    parser.add_argument("--lean-workers", type=int, default=2)
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    cpu_before = time.process_time()
    with tempfile.TemporaryDirectory() as tmp, OpenAIStubServer(latency_s=args.latency_s) as server:
        summary, wall = asyncio.run(_run(args, Path(tmp), server))
        requests = len(server.chat_requests)
    cpu = time.process_time() - cpu_before
    per_problem = requests / args.problems
    ideal = args.concurrency / (args.latency_s * per_problem)
    measured = args.problems / wall
    figures = {
        "problems": args.problems,
        "concurrency": args.concurrency,
        "latency_s": args.latency_s,
        "samples": args.samples,
        "lean": "standin" if args.lean else "off",
        "requests_per_problem": per_problem,
        "wall_s": round(wall, 3),
        "problems_per_s": round(measured, 2),
        "ideal_problems_per_s": round(ideal, 2),
        "efficiency": round(measured / ideal, 3),
        "process_cpu_s": round(cpu, 2),
        "cpu_ms_per_problem": round(1000 * cpu / args.problems, 2),
        "with_candidate": summary.with_candidate,
        "load_avg_1m_before": round(load_before, 2),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    print(
        f"{args.problems} problems in {wall:.1f} s: {measured:.1f} problems/s vs LLM-bound ideal {ideal:.1f} "
        f"({100 * measured / ideal:.0f}%), {figures['cpu_ms_per_problem']} ms CPU per problem",
        file=sys.stderr,
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
