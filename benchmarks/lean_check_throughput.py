"""Throughput of Lean checking: (a) the warm ReplChecker pool, header elaborated once per worker, versus
(b) a fresh `lake env lean --json FILE` process per statement (header + statement in the file), on the same
statements with the same parallelism.

Runs on real Lean when `lake` is found (PATH or ~/.elan/bin) and AUTOFORMAL_LEAN_PROJECT is set; otherwise on
the stand-in REPL (autoformal.testing.standin_repl). On the stand-in the figures measure the pool's own
overhead (process start, JSON framing, scheduling) against Python process start-up, not Lean: treat the ratio
as a property of the machinery, not as a Lean speed-up.

    python benchmarks/lean_check_throughput.py [--n 200] [--workers 2] [--header FILE]

The last stdout line is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autoformal import check_safe
from autoformal.checking import ReplChecker, validate_header

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import lean_or_standin


def make_statements(n: int) -> list[str]:
    """Core-Lean statements (no Mathlib needed), one in five with an elaboration (type) error. Parse errors
    would be stopped by the safety gate before Lean and so flatter the pool."""
    out = []
    for i in range(n):
        if i % 5 == 4:
            out.append(f'theorem bench_{i} (n : Nat) : n + "{i}" = n := sorry')
        else:
            out.append(f"theorem bench_{i} (n m : Nat) (h : n ≤ m) : n + {i} ≤ m + {i} := sorry")
    return out


def fresh_process_check(lake: Path, project: Path, header: str, statement: str, workdir: Path, index: int) -> bool:
    """One `lake env lean --json` process on header + statement; True iff no error message."""
    source = workdir / f"Bench{index}.lean"
    source.write_text(f"{header}\n\n{statement}\n" if header else f"{statement}\n", encoding="utf-8")
    proc = subprocess.run(
        [str(lake), "env", "lean", "--json", str(source)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return not any(m.get("severity") == "error" for m in messages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="statements per variant")
    parser.add_argument("--workers", type=int, default=2, help="pool size and fresh-process parallelism")
    parser.add_argument("--header", type=Path, help="header file (default: empty, core Lean)")
    args = parser.parse_args()

    header = validate_header(args.header.read_text(encoding="utf-8")) if args.header else ""
    statements = make_statements(args.n)
    with tempfile.TemporaryDirectory(prefix="lean-bench-") as tmp:
        backend, lake_path, project_dir, config = lean_or_standin(Path(tmp), args.workers)
        print(f"backend: {backend}; {args.n} statements, {args.workers} workers; load {os.getloadavg()}")
        load_before = os.getloadavg()[0]

        # The safety gate runs before Lean whichever way Lean is driven, so time it on its own and give the
        # pool its precomputed verdicts: (a) and (b) then compare only the ways of running Lean.
        started = time.perf_counter()
        verdicts = {s: check_safe(s) for s in statements}
        gate_s = time.perf_counter() - started
        assert all(v.ok for v in verdicts.values()), "benchmark statements must pass the gate"

        # (a) warm pool: start + header once per worker, then the batch.
        started = time.perf_counter()
        with ReplChecker(config, safety_gate=verdicts.__getitem__) as checker:
            asyncio.run(checker.warm_up(header))
            warm_done = time.perf_counter()
            results = checker.check_sync(statements, header)
            pool_done = time.perf_counter()
        pool_verdicts = [r.ok for r in results]
        startup_s, pool_batch_s = warm_done - started, pool_done - warm_done
        pool_total_s = pool_done - started

        # (b) fresh process per statement, same parallelism.
        workdir = Path(tmp) / "files"
        workdir.mkdir()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            fresh_verdicts = list(
                pool.map(
                    lambda item: fresh_process_check(lake_path, project_dir, header, item[1], workdir, item[0]),
                    enumerate(statements),
                )
            )
        fresh_s = time.perf_counter() - started
    load_after = os.getloadavg()[0]

    pool_rate, pool_steady_rate, fresh_rate = args.n / pool_total_s, args.n / pool_batch_s, args.n / fresh_s
    print(
        f"(a) warm pool:     {pool_rate:8.1f} statements/s incl. start-up ({startup_s:.2f} s), "
        f"{pool_steady_rate:8.1f}/s steady"
    )
    print(f"(b) fresh process: {fresh_rate:8.1f} statements/s")
    ratio, steady_ratio = pool_rate / fresh_rate, pool_steady_rate / fresh_rate
    print(f"ratio (a)/(b): {ratio:.1f}x incl. start-up, {steady_ratio:.1f}x steady")
    print(f"safety gate (not in (a) or (b)): {args.n / gate_s:8.1f} statements/s")
    if backend == "standin":
        print("NOTE: stand-in REPL, not Lean: this measures the pool's own overhead against process start-up.")
    summary = {
        "backend": backend,
        "n_statements": args.n,
        "workers": args.workers,
        "header": header or None,
        "pool_statements_per_s": round(pool_rate, 2),
        "pool_steady_statements_per_s": round(pool_steady_rate, 2),
        "pool_startup_s": round(startup_s, 3),
        "fresh_process_statements_per_s": round(fresh_rate, 2),
        "ratio_pool_vs_fresh": round(ratio, 2),
        "ratio_steady_vs_fresh": round(steady_ratio, 2),
        "gate_statements_per_s": round(args.n / gate_s, 2),
        "verdicts_agree": pool_verdicts == fresh_verdicts,
        "n_ok": sum(pool_verdicts),
        "cpu_count": os.cpu_count(),
        "load_avg_1m_before": round(load_before, 2),
        "load_avg_1m_after": round(load_after, 2),
        "python": sys.version.split()[0],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
