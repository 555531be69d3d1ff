"""Repair gain: what the refinement loop buys (inputs with an elaborated candidate) and what it costs (extra LLM
requests, wall time), with 0, 1 and 2 repair rounds on the same inputs.

A scripted model (the loopback `OpenAIStubServer` in its own process, fixed latency per request): each of the k
first samples of an input fails Lean with probability p (an unknown identifier, distinct per sample), else it
is the input's correct statement; each repair of a failed statement succeeds with probability q, else it is a
new failing statement (so a second round has something to repair). Draws are seeded per input, sample and
round, so the three configurations see the same model. Lean is the stand-in REPL (2 workers); back-translation
is off (its requests would come after the loop and blur the per-round accounting). Each configuration gets a
fresh cache.

"LLM time" is measured by replaying the very requests each configuration sent straight through the backend,
phase by phase — all first generations at once, then all round-1 repairs at once, then all round-2 repairs —
since a repair cannot start before the answer it repairs: the lower bound of a loop with the same dependency
structure. The overhead ratio is wall time / LLM time.

    python benchmarks/repair_gain.py [--inputs 200] [--samples 4] [--p 0.8] [--q 0.5] [--latency-s 1.0]

The last stdout line is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
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

from _shared import load_average, record_requests  # noqa: E402  (the script's own directory)

_FAILED = re.compile(r"<failed_statement>\s*(.*?)\s*</failed_statement>", re.DOTALL)


def _draw(*key: object) -> float:
    """A uniform number in [0, 1) fixed by `key` (same in every configuration and process)."""
    digest = hashlib.sha256(repr(key).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _good(i: int) -> str:
    return f"theorem g{i} (n : ℕ) : n + {i} = {i} + n := sorry"


def _bad(i: int, tag: str) -> str:
    return f"theorem b{i} (n : ℕ) : n + {i} = undefined_{tag} + n := sorry"


def make_responder(p: float, q: float):  # type: ignore[no-untyped-def]
    def responder(request: dict[str, Any]) -> list[str]:
        prompt = request["messages"][-1]["content"]
        n = int(request.get("n") or 1)
        i = int(re.findall(r"n \+ (\d+) = ", prompt)[0])
        failed = _FAILED.search(prompt)
        if failed is None:  # a first generation: sample j fails with probability p
            texts = [_good(i) if _draw("sample", i, j) >= p else _bad(i, f"s{j}") for j in range(n)]
        else:  # a repair of round r (the failed statement says which round produced it)
            statement = failed.group(1)
            tag = re.search(r"undefined_(\w+)", statement)
            assert tag is not None, statement
            round_number = 1 if tag.group(1).startswith("s") else int(tag.group(1)[1:].split("x")[0]) + 1
            fixed = _draw("repair", i, statement) < q
            texts = [_good(i) if fixed else _bad(i, f"r{round_number}x{tag.group(1)}")] * n
        return [f"```lean\n{text}\n```" for text in texts]

    return responder


def serve(latency_s: float, p: float, q: float) -> None:
    from autoformal.testing.openai_server import OpenAIStubServer

    with OpenAIStubServer(make_responder(p, q), latency_s=latency_s) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin


def phase_of(request: Any) -> int:
    """0 for a first generation, r for a repair in round r (from the failed statement's tag)."""
    failed = _FAILED.search(request.messages[-1].content)
    if failed is None:
        return 0
    tag = re.search(r"undefined_(\w+)", failed.group(1))
    assert tag is not None
    return 1 if tag.group(1).startswith("s") else int(tag.group(1)[1:].split("x")[0]) + 1


def run_configuration(rounds: int, texts: list[str], base_url: str, args: argparse.Namespace, tmp: Path) -> dict:
    from autoformal.checking import ReplCheckerConfig
    from autoformal.config import FormalizerConfig
    from autoformal.llm import GenerationRequest, OpenAIBackendConfig, OpenAICompatibleBackend
    from autoformal.pipeline import Formalizer
    from autoformal.testing.standin_repl import install_standin

    standin = install_standin(tmp / f"proj{rounds}")
    backend_config = OpenAIBackendConfig(base_url=base_url, model="stub-model")
    config = FormalizerConfig(
        backend=backend_config,
        checker=ReplCheckerConfig(project_dir=standin.directory, repl_dir=standin.directory, lake_path=standin.lake),
        cache_path=tmp / f"cache{rounds}.sqlite",
        samples=args.samples,
        retrieval="off",
        examples=0,
        backtranslation=False,
        names=None,
        repair_rounds=rounds,
    )
    with Formalizer(config) as formalizer:
        formalizer.warm_up()
        sent: list[GenerationRequest] = record_requests(formalizer.parts.raw_backend)
        warm = getattr(getattr(formalizer.checker, "checker", formalizer.checker), "warm_up", None)
        if warm is not None:
            asyncio.run(warm(config.header))
        load = load_average()
        start = time.perf_counter()
        results = formalizer.formalize_many(texts)
        wall = time.perf_counter() - start

    phases: dict[int, list[GenerationRequest]] = {}
    for request in sent:
        phases.setdefault(phase_of(request), []).append(request)
    baseline = OpenAICompatibleBackend(backend_config)
    llm_time = 0.0
    for phase in sorted(phases):
        start = time.perf_counter()
        asyncio.run(baseline.agenerate(phases[phase]))
        llm_time += time.perf_counter() - start
    baseline.close()
    elaborated = sum(1 for r in results if r.best is not None and r.best.elaborated)
    return {
        "rounds": rounds,
        "elaborated_at_k": round(elaborated / len(texts), 4),
        "extra_requests_per_input": round(sum(r.extra_requests for r in results) / len(texts), 3),
        "llm_requests": len(sent),
        "requests_per_phase": {str(k): len(v) for k, v in sorted(phases.items())},
        "wall_s": round(wall, 3),
        "llm_s": round(llm_time, 3),
        "overhead_ratio": round(wall / llm_time, 4),
        "mean_repair_s": round(sum(r.timings.get("repaired", 0.0) for r in results) / len(texts), 3),
        "load_avg_1m_before": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=200)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--p", type=float, default=0.8, help="Probability that a first sample fails Lean.")
    parser.add_argument("--q", type=float, default=0.5, help="Probability that a repair elaborates.")
    parser.add_argument("--latency-s", type=float, default=1.0, help="Fixed latency of every LLM request.")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.latency_s, args.p, args.q)
        return

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--latency-s", str(args.latency_s), f"--p={args.p}", f"--q={args.q}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    base_url = server.stdout.readline().strip()
    texts = [f"Show that for every natural number n, n + {i} = {i} + n." for i in range(args.inputs)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            runs = [run_configuration(rounds, texts, base_url, args, Path(tmp)) for rounds in (0, 1, 2)]
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    expected_round0 = 1 - args.p**args.samples
    print(f"{args.inputs} inputs x {args.samples} samples; p(fail) {args.p}, q(repair ok) {args.q}")
    print(f"LLM latency {args.latency_s} s per request")
    print(f"expected elaborated@k with no repair: {expected_round0:.3f}")
    for run in runs:
        print(
            f"rounds {run['rounds']}: elaborated@k {run['elaborated_at_k']:.3f}, extra requests/input "
            f"{run['extra_requests_per_input']:.2f}, wall {run['wall_s']:.2f} s vs LLM {run['llm_s']:.2f} s "
            f"(ratio {run['overhead_ratio']:.3f}), load {run['load_avg_1m_before']}"
        )
    print(
        json.dumps(
            {
                "inputs": args.inputs,
                "samples": args.samples,
                "p": args.p,
                "q": args.q,
                "latency_s": args.latency_s,
                "runs": runs,
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
