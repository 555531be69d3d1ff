"""Bulk throughput on Ray with 1 and 2 actors against local bulk, on the same problems.

A loopback OpenAI-compatible server with a fixed latency stands in for vLLM and the stand-in REPL for Lean, so
the figures measure autoformal's own scaling, not a model's: with a fixed per-request latency, throughput is
bounded by requests in flight / latency, and on this machine by its 2 cores (the driver, each actor's event
loop and its REPL processes share them). Ray start-up (cluster, actors, their imports) is reported apart.

    python benchmarks/ray_scaling.py [--problems 200] [--latency-s 0.5] [--concurrency 16]

Last line: JSON with problems/s per mode and the ratios to local bulk.
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autoformal.bulk import BulkSummary, JsonlAppender, run_bulk  # noqa: E402
from autoformal.bulk.inputs import Problem  # noqa: E402
from autoformal.bulk.ray_runner import RayOptions, connect, run_bulk_on_ray  # noqa: E402
from autoformal.config import FormalizerConfig  # noqa: E402
from autoformal.llm.config import OpenAIBackendConfig  # noqa: E402
from autoformal.pipeline import Formalizer  # noqa: E402
from autoformal.testing.openai_server import OpenAIStubServer  # noqa: E402
from autoformal.testing.standin_repl import install_standin  # noqa: E402


def responder(request: dict[str, Any]) -> list[str]:
    return ["```lean\ntheorem t (n : Nat) : n + 0 = n := by sorry\n```"] * int(request.get("n") or 1)


def config_for(url: str, lean: Path, samples: int) -> FormalizerConfig:
    return FormalizerConfig(
        backend=OpenAIBackendConfig(base_url=url, model="stub-model", timeout_s=30),
        samples=samples,
        backtranslation=False,
        retrieval="off",
        examples=0,
        names=None,
        cache=False,
        checker={"kind": "repl", "project_dir": lean, "repl_dir": lean, "lake_path": lean / "lake", "num_workers": 1},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=200)
    parser.add_argument("--latency-s", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=16, help="Problems in flight (per actor on Ray).")
    parser.add_argument("--samples", type=int, default=4)
    args = parser.parse_args()
    problems = [Problem(id=f"p{i}", text=f"Problem {i}: n + 0 = n.", line=i + 1) for i in range(args.problems)]
    figures: dict[str, Any] = {"problems": args.problems, "latency_s": args.latency_s, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp, OpenAIStubServer(responder, latency_s=args.latency_s) as server:
        lean = install_standin(Path(tmp) / "proj").directory
        config = config_for(server.base_url, lean, args.samples)

        summary = BulkSummary()
        with Formalizer(config) as formalizer, JsonlAppender(Path(tmp) / "local.jsonl") as writer:
            t0 = time.perf_counter()
            asyncio.run(run_bulk(problems, formalizer, writer, summary, concurrency=args.concurrency))
            local = args.problems / (time.perf_counter() - t0)
        figures["local_problems_per_s"] = round(local, 2)
        print(f"local bulk: {local:.2f} problems/s (load {os.getloadavg()[0]:.1f})", flush=True)

        t0 = time.perf_counter()
        ray = connect(RayOptions(local_cpus=os.cpu_count()))
        figures["ray_cluster_start_s"] = round(time.perf_counter() - t0, 2)
        for actors in (1, 2):
            summary = BulkSummary()
            started: list[float] = []
            with JsonlAppender(Path(tmp) / f"ray{actors}.jsonl") as writer:
                t0 = time.perf_counter()
                run_bulk_on_ray(
                    problems,
                    config,
                    writer,
                    summary,
                    RayOptions(actors=actors, per_actor_concurrency=args.concurrency),
                    on_start=lambda _info, mark=started: mark.append(time.perf_counter()),
                )
                end = time.perf_counter()
            rate = args.problems / (end - started[0])
            figures[f"ray_{actors}_actor_problems_per_s"] = round(rate, 2)
            figures[f"ray_{actors}_actor_start_s"] = round(started[0] - t0, 2)
            figures[f"ray_{actors}_actor_vs_local"] = round(rate / local, 3)
            print(f"Ray, {actors} actor(s): {rate:.2f} problems/s after a {started[0] - t0:.1f} s start "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)  # fmt: skip
        ray.shutdown()
    ideal = args.concurrency / args.latency_s
    figures["ideal_local_problems_per_s"] = round(ideal, 2)
    figures["load_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
