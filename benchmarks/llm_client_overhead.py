"""Client overhead of `OpenAICompatibleBackend` against a loopback server with a fixed latency.

1. `--requests` chat requests (default 1000) with `--latency-s` (50 ms) server latency at `--concurrency`
   (64): wall time / ideal, where ideal = requests * latency / concurrency. Measured for each of the backend's
   transports (`http_client`: aiohttp, the default, and httpx) and, as a floor, for bare aiohttp sending the
   same requests with no backend around it; then once more at `--realistic-latency-s` (0.5 s, still far below
   a real prover's seconds) with the default transport. To compare two versions of the backend, run this script
   of each checkout in turn with that checkout first on PYTHONPATH.
   The server runs in a subprocess (`python -m autoformal.testing.openai_server`), off this process's GIL.
2. n = 8 samples for each of `--prompts` prompts: one request with n=8 vs 8 requests with n=1 (in-process
   server, whose request log gives the number of HTTP requests actually received).

The last stdout line is a JSON object with the headline figures.

    .venv/bin/python benchmarks/llm_client_overhead.py [--requests 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from autoformal.llm import ChatMessage, GenerationRequest, OpenAIBackendConfig, OpenAICompatibleBackend
from autoformal.testing.openai_server import OpenAIStubServer

MODEL = "stub-model"
DEFAULT_HTTP_CLIENT: str = OpenAIBackendConfig.model_fields["http_client"].default


def _requests(count: int, n: int = 1) -> list[GenerationRequest]:
    return [
        GenerationRequest(
            messages=[
                ChatMessage(role="user", content=f"Formalize problem {index}: the sum of two odd numbers is even.")
            ],
            n=n,
            max_tokens=256,
        )
        for index in range(count)
    ]


@contextmanager
def _subprocess_server(latency_s: float) -> Iterator[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autoformal.testing.openai_server",
            "--latency-s",
            str(latency_s),
            "--model",
            MODEL,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _time_backend(base_url: str, http_client: str, requests: list[GenerationRequest], concurrency: int) -> float:
    config = OpenAIBackendConfig(
        base_url=base_url, model=MODEL, max_concurrency=concurrency, max_retries=0, http_client=http_client
    )
    backend = OpenAICompatibleBackend(config)
    await backend.agenerate(requests[:concurrency])  # open the connection pool before timing
    start = time.perf_counter()
    results = await backend.agenerate(requests)
    wall = time.perf_counter() - start
    await backend.aclose()
    assert len(results) == len(requests) and all(
        len(r.completions) == r_.n for r, r_ in zip(results, requests, strict=True)
    )
    return wall


async def _time_bare_aiohttp(base_url: str, requests: list[GenerationRequest], concurrency: int) -> float:
    import aiohttp

    semaphore = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def send(request: GenerationRequest) -> dict[str, object]:
            body = {"model": MODEL, "messages": [m.model_dump() for m in request.messages], "logprobs": True}
            async with semaphore, session.post(f"{base_url}/chat/completions", json=body) as response:
                return await response.json()

        await asyncio.gather(*(send(request) for request in requests[:concurrency]))
        start = time.perf_counter()
        await asyncio.gather(*(send(request) for request in requests))
        return time.perf_counter() - start


def _overhead(args: argparse.Namespace) -> dict[str, object]:
    ideal = args.requests * args.latency_s / args.concurrency
    requests = _requests(args.requests)
    transports = ["aiohttp", "httpx"]
    figures: dict[str, object] = {"ideal_s": round(ideal, 4)}
    with _subprocess_server(args.latency_s) as base_url:
        for transport in transports:
            walls = []
            cpu_start = time.process_time()
            for _ in range(args.repeats):
                walls.append(asyncio.run(_time_backend(base_url, transport, requests, args.concurrency)))
            cpu_per_request_ms = (
                1000 * (time.process_time() - cpu_start) / (args.repeats * (args.requests + args.concurrency))
            )
            median = statistics.median(walls)
            figures[f"backend_{transport}"] = {
                "wall_s_median": round(median, 3),
                "wall_s_min": round(min(walls), 3),
                "wall_over_ideal": round(median / ideal, 2),
                "client_cpu_ms_per_request": round(cpu_per_request_ms, 2),
            }
            print(
                f"backend ({transport}): wall {median:.3f} s (min {min(walls):.3f}), ideal {ideal:.3f} s, "
                f"ratio {median / ideal:.2f}, client CPU {cpu_per_request_ms:.2f} ms/request"
            )
        walls = [asyncio.run(_time_bare_aiohttp(base_url, requests, args.concurrency)) for _ in range(args.repeats)]
        median = statistics.median(walls)
        figures["bare_aiohttp_floor"] = {
            "wall_s_median": round(median, 3),
            "wall_over_ideal": round(median / ideal, 2),
        }
        print(f"bare aiohttp, no backend (floor): wall {median:.3f} s, ratio {median / ideal:.2f}")
    realistic_ideal = args.requests * args.realistic_latency_s / args.concurrency
    with _subprocess_server(args.realistic_latency_s) as base_url:
        wall = asyncio.run(_time_backend(base_url, DEFAULT_HTTP_CLIENT, requests, args.concurrency))
    figures["backend_at_realistic_latency"] = {
        "http_client": DEFAULT_HTTP_CLIENT,
        "latency_s": args.realistic_latency_s,
        "wall_s": round(wall, 3),
        "ideal_s": round(realistic_ideal, 3),
        "wall_over_ideal": round(wall / realistic_ideal, 3),
    }
    print(
        f"backend ({DEFAULT_HTTP_CLIENT}) at {args.realistic_latency_s} s latency: wall {wall:.3f} s, "
        f"ideal {realistic_ideal:.3f} s, ratio {wall / realistic_ideal:.3f}"
    )
    return figures


def _n_versus_separate(args: argparse.Namespace) -> dict[str, object]:
    figures: dict[str, object] = {"prompts": args.prompts, "samples_per_prompt": 8}
    for label, requests in (
        ("one_request_n8", _requests(args.prompts, n=8)),
        ("eight_requests_n1", [r for r in _requests(args.prompts) for _ in range(8)]),
    ):
        with OpenAIStubServer(models=[MODEL], latency_s=args.latency_s) as server:
            backend = OpenAICompatibleBackend(
                OpenAIBackendConfig(
                    base_url=server.base_url, model=MODEL, max_concurrency=args.concurrency, max_retries=0
                )
            )
            start = time.perf_counter()
            results = backend.generate(requests)
            wall = time.perf_counter() - start
            backend.close()
            samples = sum(len(result.completions) for result in results)
            sent = len(server.chat_requests)
        assert samples == args.prompts * 8
        figures[label] = {"requests_sent": sent, "samples": samples, "wall_s": round(wall, 3)}
        print(f"{label}: {sent} HTTP requests for {samples} samples, wall {wall:.3f} s")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--latency-s", type=float, default=0.05)
    parser.add_argument("--realistic-latency-s", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--prompts", type=int, default=64, help="prompts for the n=8 comparison")
    args = parser.parse_args()

    load_before = os.getloadavg()
    overhead = _overhead(args)
    n_comparison = _n_versus_separate(args)
    load_after = os.getloadavg()
    print(
        json.dumps(
            {
                "benchmark": "llm_client_overhead",
                "requests": args.requests,
                "latency_s": args.latency_s,
                "concurrency": args.concurrency,
                "overhead": overhead,
                "n8_one_request_vs_eight": n_comparison,
                "cpus": os.cpu_count(),
                "load_avg_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
            }
        )
    )


if __name__ == "__main__":
    main()
