"""Statements/s of the statement grammar on one core: parse, canonical form and the safety gate over every
gold statement in ../shared/data/benchmarks (cold: the parse cache is cleared before each pass).

Usage: python benchmarks/grammar_throughput.py [--repeat 3]
Last line: JSON with the best-of-N figures (CPU time and wall time) and the machine's load average.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable

from _shared import load_average, shared_data_dir

from autoformal import StatementSyntaxError, canonical_form, check_safe
from autoformal.syntax.model import parse_document
from autoformal.syntax.parser import _parser


def _texts() -> list[str]:
    data = shared_data_dir()
    if not data.is_dir():
        sys.exit(f"shared data not found at {data} (set AUTOFORMAL_SHARED_DIR)")
    texts = []
    for path in sorted((data / "benchmarks").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["formal"])
    return texts


def _rate(fn: Callable[[str], object], texts: list[str], repeat: int) -> tuple[float, float]:
    best_cpu = best_wall = 0.0
    for _ in range(repeat):
        parse_document.cache_clear()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for text in texts:
            with contextlib.suppress(StatementSyntaxError):
                fn(text)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        best_cpu, best_wall = max(best_cpu, len(texts) / cpu), max(best_wall, len(texts) / wall)
    return best_cpu, best_wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    texts = _texts()
    parser = _parser()  # build the LALR tables outside the timed region
    backend = "lark-cython" if "lark_cython" in type(parser.parser.parser).__module__ else "lark (pure Python)"
    load_before = load_average()
    figures = {}
    for name, fn in (("parse", parse_document), ("canonical_form", canonical_form), ("check_safe", check_safe)):
        cpu, wall = _rate(fn, texts, args.repeat)
        figures[name] = {"per_s_cpu": round(cpu), "per_s_wall": round(wall)}
        print(f"{name:15s} {cpu:8.0f} statements/s (CPU time)  {wall:8.0f}/s (wall)")
    result = {
        "statements": len(texts),
        "backend": backend,
        "parse_per_s_cpu": figures["parse"]["per_s_cpu"],
        "parse_per_s_wall": figures["parse"]["per_s_wall"],
        "canonical_per_s_cpu": figures["canonical_form"]["per_s_cpu"],
        "check_safe_per_s_cpu": figures["check_safe"]["per_s_cpu"],
        "target_parse_per_s": 2000,
        "load_average_1m": [load_before, load_average()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
