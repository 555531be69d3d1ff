"""Throughput of checking on a Kimina Lean Server: the server's API called directly (all statements in one
`POST /api/check`, the fastest a client can ask) against `KiminaChecker` (the Python API and the pipeline's
path), `autoformal check --kimina-url` (the CLI, a subprocess, start-up included) and the CLI's old pattern
(one request of 8 statements at a time; `--before-repo` times another checkout's CLI too), on the same
statements. `cli_one_statement_s` (a CLI run on one statement) is the start-up cost the CLI figure includes.

Runs the REAL server (kimina-ast-server 2.1.3, set up by `autoformal.testing.kimina_server`, on the core Lean
or AUTOFORMAL_LEAN_PROJECT) when Python >= 3.12 and Lean are present; otherwise, or with `--server standin`,
the loopback stand-in with `--latency` seconds per REPL command, whose figures measure the client and the
HTTP machinery, not Lean.

    python benchmarks/kimina_throughput.py [--n 200] [--max-repls 2] [--server auto|real|standin]

The last stdout line is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from _shared import REPO_ROOT, load_average
from lean_check_throughput import make_statements

from autoformal.checking import KiminaChecker, KiminaCheckerConfig
from autoformal.checking.kimina import snippet_code
from autoformal.testing import kimina_server
from autoformal.testing.kimina_standin import KiminaStandin

HEADER = ""  # core Lean has no Mathlib; the client sends `import Init`


@contextlib.contextmanager
def serve(kind: str, max_repls: int, latency: float) -> Iterator[tuple[str, str]]:
    if kind in ("auto", "real"):
        try:
            with kimina_server.running_server(max_repls=max_repls) as url:
                yield "real", url
                return
        except kimina_server.KiminaServerSetupError as exc:
            if kind == "real":
                raise
            print(f"real server unavailable ({exc}); using the stand-in", file=sys.stderr)
    with KiminaStandin(max_repls=max_repls, command_latency_s=latency) as standin:
        yield "standin", standin.url


def timed(label: str, n: int, run: Callable[[], int]) -> float:
    start = time.perf_counter()
    ok = run()
    rate = n / (time.perf_counter() - start)
    print(f"{label:<28} {rate:8.1f} statements/s  ({ok}/{n} ok, load {load_average()})", flush=True)
    return round(rate, 1)


def direct(url: str, statements: list[str]) -> int:
    snippets = [{"id": str(i), "code": snippet_code(HEADER, s)[0]} for i, s in enumerate(statements)]
    payload = {"snippets": snippets, "timeout": 60, "debug": False, "reuse": True}
    reply = httpx.post(f"{url}/api/check", json=payload, timeout=600).json()
    messages = [r.get("response", {}).get("messages", []) for r in reply["results"]]
    return sum(not any(m["severity"] == "error" for m in ms) for ms in messages)


def client(config: KiminaCheckerConfig, statements: list[str], chunk: int | None = None) -> int:
    with KiminaChecker(config) as checker:
        step = chunk or len(statements)
        results = [r for i in range(0, len(statements), step) for r in checker.check_sync(statements[i : i + step], "")]
    return sum(r.ok for r in results)


def cli(url: str, statements: list[str], repo: Path, extra: list[str]) -> int:
    """`autoformal check --kimina-url` as a user runs it, from the checkout `repo` (a fresh process)."""
    with tempfile.TemporaryDirectory() as tmp:
        source, header = Path(tmp) / "in.lean", Path(tmp) / "header.lean"
        source.write_text("\n\n".join(statements) + "\n", encoding="utf-8")
        header.write_text(HEADER, encoding="utf-8")
        argv = ["check", str(source), "--header", str(header), "--kimina-url", url, "--json", *extra]
        out = subprocess.run(
            [sys.executable, "-c", "from autoformal.cli import main; main()", *argv],
            capture_output=True,
            text=True,
            cwd=repo,
            env={**os.environ, "PYTHONPATH": str(repo)},
        )
    if out.returncode not in (0, 1) or len(out.stdout.splitlines()) != len(statements):
        raise RuntimeError(f"autoformal check failed: {out.stderr[-500:]}")
    return sum(json.loads(line)["status"] == "ok" for line in out.stdout.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--max-repls", type=int, default=2, help="the server's LEAN_SERVER_MAX_REPLS")
    parser.add_argument("--server", choices=("auto", "real", "standin"), default="auto")
    parser.add_argument("--before-repo", type=Path, help="also time the CLI of this checkout (e.g. main)")
    parser.add_argument("--latency", type=float, default=0.008, help="stand-in only: seconds per REPL command")
    args = parser.parse_args()
    statements = make_statements(args.n)
    with serve(args.server, args.max_repls, args.latency) as (kind, url):
        config = KiminaCheckerConfig(url=url, server_repls=args.max_repls)
        repls, one = ["--kimina-repls", str(args.max_repls)], statements[:1]
        direct(url, statements[: 2 * args.max_repls])  # start the REPLs: every mode then finds them warm
        client(config, statements[:1])  # and build the safety gate's parser (seconds), once, as a pipeline does
        figures = {
            "direct_api_one_request": timed("direct API, one request", args.n, lambda: direct(url, statements)),
            "checker_api": timed("KiminaChecker.check_sync", args.n, lambda: client(config, statements)),
            "cli": timed("autoformal check (CLI)", args.n, lambda: cli(url, statements, REPO_ROOT, repls)),
            "old_cli_pattern": timed(
                "old CLI pattern (8 at a time)",
                args.n,
                lambda: client(config.model_copy(update={"max_concurrent_requests": 1}), statements, chunk=8),
            ),
        }
        # what a CLI run costs besides checking (imports, start-up), included in the CLI figure
        start = time.perf_counter()
        cli(url, one, REPO_ROOT, repls)
        cli_startup_s = round(time.perf_counter() - start, 2)
        print(f"{'CLI on 1 statement':<28} {cli_startup_s:8.2f} s  (load {load_average()})", flush=True)
        if args.before_repo:
            figures["cli_before_repo"] = timed(
                f"CLI of {args.before_repo}", args.n, lambda: cli(url, statements, args.before_repo, [])
            )
    print(
        json.dumps(
            {
                "server": kind,
                "n": args.n,
                "max_repls": args.max_repls,
                "requests_in_flight": config.max_concurrent_requests,
                "batch_size": config.batch_size,
                "statements_per_s": figures,
                "cli_one_statement_s": cli_startup_s,
                "load_avg_1min": load_average(),
            }
        )
    )


if __name__ == "__main__":
    main()
