"""Cost of Lean as a semantic judge: probes per candidate and equivalence per pair, with (a) the warm
ReplChecker pool and (b) a fresh REPL process (`lake env <repl>`) per Lean command, through the same
`SemanticChecker` (same jobs, same verdicts expected). Also the verdicts' agreement with the labels of our own
20 core-Lean pairs (tests/fixtures/equivalence_pairs.jsonl).

Runs on real Lean when `lake` is found and AUTOFORMAL_LEAN_PROJECT is set (e.g. after
`eval "$(../shared/lean/install-core-lean)"`); otherwise on the stand-in REPL, where the figures measure the
machinery, not Lean.

    python benchmarks/equivalence_cost.py [--workers 2] [--skip-fresh]

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

from autoformal.checking import ReplChecker
from autoformal.checking.equivalence import Equivalence, Verdict, equivalent_many
from autoformal.checking.models import CheckResult, CheckStatus, messages_from_repl
from autoformal.checking.probes import ProbeReport, probe_many
from autoformal.checking.semantic import SemanticChecker, SemanticConfig
from autoformal.checking.trusted import JobOutcome, ProofJob, attempt_outcome, failed_setup, skipped

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import REPO_ROOT, lean_or_standin, load_average

PAIRS_FILE = REPO_ROOT / "tests" / "fixtures" / "equivalence_pairs.jsonl"


class FreshProcessProver:
    """Runs each Lean command of a job in its own fresh REPL process (`lake env <repl>`, one request: header +
    context + command, no kept environment): what a checker without a warm pool pays. Same JSON protocol, so
    the verdicts must be the pool's."""

    def __init__(self, lake: Path, project: Path, workers: int) -> None:
        self.lake, self.project = lake, project
        self.repl = project / ".lake" / "build" / "bin" / "repl"
        self._pool = ThreadPoolExecutor(max_workers=workers)

    def _lean(self, header: str, text: str) -> CheckResult:
        prefix = f"{header}\n\n" if header else ""
        started = time.perf_counter()
        proc = subprocess.run(
            [str(self.lake), "env", str(self.repl)],
            # Raw UTF-8, as lean-interact sends it: this REPL's JSON reader mangles `\uXXXX` escapes.
            input=json.dumps({"cmd": prefix + text}, ensure_ascii=False) + "\n\n",
            cwd=self.project,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=600,
        )
        elapsed = time.perf_counter() - started
        try:
            reply = json.loads(proc.stdout)
        except json.JSONDecodeError:
            return CheckResult.failure(text, CheckStatus.CRASHED, proc.stderr[-300:], elapsed)
        offset = prefix.count("\n")
        return CheckResult.from_messages(text, messages_from_repl(reply.get("messages"), offset), [], elapsed)

    def _job(self, job: ProofJob, header: str) -> JobOutcome:
        context = job.context_command()
        prefix = f"{context}\n" if context else ""
        skip = prefix.count("\n")
        goal = self._lean(header, prefix + job.goal_check_command())
        if not goal.ok:
            return failed_setup("goal", goal)
        attempts = []
        for script in job.scripts:
            if job.stop_at_first and any(a.proved for a in attempts):
                attempts.append(skipped(script))
                continue
            result = self._lean(header, prefix + job.attempt_command(script))
            result = CheckResult.from_messages(
                result.statement, [m for m in result.messages if m.line > skip], [], result.elapsed_s
            )
            attempts.append(attempt_outcome(script, result))
        return JobOutcome(context_ok=True, goal_ok=True, attempts=attempts)

    async def run_trusted(self, jobs: list[ProofJob], header: str) -> list[JobOutcome]:
        loop = asyncio.get_running_loop()
        return list(await asyncio.gather(*(loop.run_in_executor(self._pool, self._job, j, header) for j in jobs)))


def candidates() -> list[str]:
    """Probe inputs: the fixture pairs' statements plus vacuous, refuted and trivial ones."""
    rows = [json.loads(line) for line in PAIRS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [t for r in rows for t in (r["a"], r["b"])]
    texts += [
        "theorem v (n : Nat) (h : 2 + 2 = 5) : n = 7 := sorry",
        "theorem r : 2 + 2 = 5 := sorry",
        "theorem t : 2 + 2 = 4 := sorry",
        "theorem c (p : Prop) (h : p) (h' : ¬p) (n : Nat) : n = 3 := sorry",
    ]
    return list(dict.fromkeys(texts))


def run(semantic: SemanticChecker, statements: list[str], pairs: list[tuple[str, str]]) -> dict[str, object]:
    started = time.perf_counter()
    asyncio.run(semantic.available(""))
    available_s = time.perf_counter() - started
    started = time.perf_counter()
    reports: list[ProbeReport] = asyncio.run(probe_many(semantic, statements, ""))
    probes_s = time.perf_counter() - started
    started = time.perf_counter()
    verdicts: list[Equivalence] = asyncio.run(equivalent_many(semantic, pairs, ""))
    equiv_s = time.perf_counter() - started
    probe_attempts = sum(
        1
        for r in reports
        for name in ("vacuous", "trivial", "refuted")
        for a in getattr(r, name).attempts
        if a.status.value in ("proved", "failed", "timeout", "crashed")
    )
    return {
        "availability_s": available_s,
        "probes_s": probes_s,
        "equivalence_s": equiv_s,
        "reports": reports,
        "verdicts": verdicts,
        "probe_scripts_sent": probe_attempts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-fresh", action="store_true", help="only the warm pool")
    args = parser.parse_args()

    rows = [json.loads(line) for line in PAIRS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    pairs = [(r["a"], r["b"]) for r in rows]
    statements = candidates()
    config = SemanticConfig(timeout_s=30)
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="equiv-bench-") as tmp:
        backend, lake_path, project_dir, repl = lean_or_standin(Path(tmp), args.workers)
        print(
            f"backend: {backend}; {len(statements)} candidates, {len(pairs)} pairs, {args.workers} workers; "
            f"load {load_before}"
        )
        started = time.perf_counter()
        with ReplChecker(repl) as checker:
            asyncio.run(checker.warm_up(""))
            startup_s = time.perf_counter() - started
            warm = run(SemanticChecker(checker, config=config), statements, pairs)
        fresh = None
        if not args.skip_fresh:
            prover = FreshProcessProver(lake_path, project_dir, args.workers)
            fresh = run(SemanticChecker(prover, config=config), statements, pairs)
    load_after = load_average()

    n, m = len(statements), len(pairs)
    warm_per_candidate = warm["probes_s"] / n  # type: ignore[operator]
    warm_per_pair = warm["equivalence_s"] / m  # type: ignore[operator]
    print(
        f"(a) warm pool: start-up {startup_s:.2f} s, availability {warm['availability_s']:.2f} s, "
        f"probes {warm_per_candidate:.3f} s/candidate, equivalence {warm_per_pair:.3f} s/pair"
    )
    labels = [bool(r["equivalent"]) for r in rows]
    predicted = [v.verdict is Verdict.EQUIVALENT for v in warm["verdicts"]]  # type: ignore[union-attr]
    tp = sum(p and t for p, t in zip(predicted, labels, strict=True))
    fp = sum(p and not t for p, t in zip(predicted, labels, strict=True))
    accuracy = sum(p == t for p, t in zip(predicted, labels, strict=True)) / m
    summary: dict[str, object] = {
        "backend": backend,
        "workers": args.workers,
        "n_candidates": n,
        "n_pairs": m,
        "pool_startup_s": round(startup_s, 3),
        "availability_s": round(float(warm["availability_s"]), 3),  # type: ignore[arg-type]
        "warm_probe_s_per_candidate": round(warm_per_candidate, 4),
        "warm_candidates_per_s": round(1 / warm_per_candidate, 2),
        "warm_equivalence_s_per_pair": round(warm_per_pair, 4),
        "warm_pairs_per_s": round(1 / warm_per_pair, 2),
        "fixture_accuracy": round(accuracy, 3),
        "fixture_precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "fixture_recall": round(tp / sum(labels), 3),
        "verdicts": {v.value: sum(e.verdict is v for e in warm["verdicts"]) for v in Verdict},  # type: ignore[union-attr]
        "flags": {
            name: sum(getattr(r, name).found for r in warm["reports"])  # type: ignore[union-attr]
            for name in ("vacuous", "trivial", "refuted")
        },
    }
    if fresh is not None:
        fresh_per_candidate = fresh["probes_s"] / n  # type: ignore[operator]
        fresh_per_pair = fresh["equivalence_s"] / m  # type: ignore[operator]
        print(
            f"(b) fresh process: probes {fresh_per_candidate:.3f} s/candidate, equivalence {fresh_per_pair:.3f} s/pair"
        )
        same = [a.verdict for a in warm["verdicts"]] == [b.verdict for b in fresh["verdicts"]]  # type: ignore[union-attr]
        same_flags = [r.flags for r in warm["reports"]] == [r.flags for r in fresh["reports"]]  # type: ignore[union-attr]
        for row, a, b in zip(rows, warm["verdicts"], fresh["verdicts"], strict=True):  # type: ignore[call-overload]
            if a.verdict is not b.verdict:
                print(f"  disagreement on pair {row['id']}: pool {a.verdict.value}, fresh {b.verdict.value}")
        for text, a, b in zip(statements, warm["reports"], fresh["reports"], strict=True):  # type: ignore[call-overload]
            if a.flags != b.flags:
                print(f"  disagreement on probes of {text[:60]!r}: pool {a.flags}, fresh {b.flags}")
        summary |= {
            "fresh_probe_s_per_candidate": round(fresh_per_candidate, 4),
            "fresh_equivalence_s_per_pair": round(fresh_per_pair, 4),
            "speedup_probes": round(fresh_per_candidate / warm_per_candidate, 2),
            "speedup_equivalence": round(fresh_per_pair / warm_per_pair, 2),
            "verdicts_agree": same and same_flags,
        }
    if backend == "standin":
        print("NOTE: stand-in REPL, not Lean: these figures measure the machinery, not Lean.")
    summary |= {"cpu_count": os.cpu_count(), "load_avg_1m_before": load_before, "load_avg_1m_after": load_after}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
