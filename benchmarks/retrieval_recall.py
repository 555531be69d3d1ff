"""Recall of Mathlib declarations for benchmark problems: dense vs BM25 vs hybrid.

For each problem of miniF2F (yangky11's Lean 4 port) and ProofNet (rahul3613's port), the relevant
declarations are the constants its gold statement references (`parse_statement(formal).identifiers`),
resolved against the corpus with the header's `open` namespaces (`sqrt` under `open Real` is
`Real.sqrt`). The number-type notations ℕ ℤ ℚ ℝ ℂ are left out: they name types, not lemmas a
formalizer needs retrieved. The query is the informal statement.

Each benchmark is reported on all its problems and on its test split alone (`minif2f_test`, ...): the
hybrid's BM25 weight was chosen on the valid splits. Also measures how many referenced constants resolve
without and with the synthesized `@[to_additive]` twins.

By default the index holds every relevant declaration plus `--distractors` random other declarations
(embedding all 254k declarations takes longer than a benchmark run on 2 shared cores; pass `--index DIR`
to evaluate a prebuilt full-corpus index instead). Smaller indexes make every retriever look better,
so compare retrievers with each other, not with published full-corpus numbers.

    python benchmarks/retrieval_recall.py [--distractors 10000] [--configs onnx-fp32-128,onnx-int8-128]

Last stdout line: one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

from _shared import shared_data_dir

from autoformal.corpus import Declaration, load_declarations
from autoformal.retrieval import (
    BM25Retriever,
    DeclarationIndex,
    DenseRetriever,
    Embedder,
    EmbedderConfig,
    HybridRetriever,
    Retriever,
)
from autoformal.retrieval.retrievers import DEFAULT_BM25_WEIGHT
from autoformal.syntax import parse_statement

BENCHMARKS = {"minif2f": "minif2f_lean4_yangky11.jsonl", "proofnet": "proofnet_lean4_rahul3613.jsonl"}
NUMBER_TYPES = frozenset({"ℕ", "ℤ", "ℚ", "ℝ", "ℂ"})
DEPTH = 100  # ranks beyond this count as "not retrieved" for MRR


def open_namespaces(header: str | None) -> list[str]:
    """Namespaces of plain `open` lines (`open scoped` only activates notation, not names)."""
    namespaces: list[str] = []
    for line in (header or "").splitlines():
        words = line.split()
        if words[:1] == ["open"] and words[1:2] != ["scoped"]:
            namespaces.extend(word for word in words[1:] if word != "in")
    return namespaces


def resolve(identifier: str, namespaces: list[str], names: set[str]) -> str | None:
    for candidate in (identifier, *(f"{namespace}.{identifier}" for namespace in namespaces)):
        if candidate in names:
            return candidate
    return None


def parse_config(spec: str) -> EmbedderConfig:
    match = re.fullmatch(r"(onnx|torch)-(fp32|int8)-(\d+)", spec)
    if not match:
        raise SystemExit(f"bad --configs entry {spec!r}: use BACKEND-PRECISION-MAXLEN, e.g. onnx-fp32-128")
    backend, precision, length = match.groups()
    return EmbedderConfig(backend=backend, quantize=precision == "int8", max_seq_length=int(length))


def evaluate(retriever: Retriever[Declaration], problems: list[dict]) -> dict[str, float]:
    recall5 = recall20 = reciprocal = 0.0
    for problem in problems:
        relevant = problem["relevant"]
        ranked = [hit.item.name for hit in retriever.search(problem["informal"], DEPTH)]
        rank = {name: position for position, name in enumerate(ranked, start=1)}
        found = [rank[name] for name in relevant if name in rank]
        recall5 += sum(r <= 5 for r in found) / len(relevant)
        recall20 += sum(r <= 20 for r in found) / len(relevant)
        reciprocal += 1.0 / min(found) if found else 0.0
    n = len(problems)
    return {"recall@5": recall5 / n, "recall@20": recall20 / n, "mrr": reciprocal / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--distractors", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--configs", default="onnx-fp32-128", help="Comma-separated encoder configs.")
    parser.add_argument("--index", type=Path, help="Prebuilt (full-corpus) index; overrides the subset.")
    parser.add_argument("--save-index", type=Path, help="Save the subset index here (last config).")
    args = parser.parse_args()

    data = shared_data_dir()
    if not data.is_dir():
        print(f"shared data not found at {data}: set AUTOFORMAL_SHARED_DIR", file=sys.stderr)
        print(json.dumps({"skipped": "no shared data"}))
        return
    started = time.perf_counter()
    corpus = load_declarations(data / "mathlib" / "decls.jsonl.gz")
    with_twins = {d.name for d in corpus.declarations}
    without_twins = {d.name for d in corpus.declarations if d.derived_from is None}
    by_name = {d.name: d for d in corpus.declarations}
    print(
        f"corpus: {len(corpus)} declarations ({corpus.additive_twins} twins) in {time.perf_counter() - started:.0f}s",
        file=sys.stderr,
    )

    problems: dict[str, list[dict]] = {}
    resolution = {"identifiers": 0, "resolved_without_twins": 0, "resolved_with_twins": 0}
    unparsed = 0
    for label, file in BENCHMARKS.items():
        problems[label] = []
        for line in (data / "benchmarks" / file).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            try:
                identifiers = parse_statement(row["formal"]).identifiers
            except ValueError:
                unparsed += 1
                continue
            namespaces = open_namespaces(row.get("header"))
            relevant = set()
            for identifier in dict.fromkeys(identifiers):
                if identifier in NUMBER_TYPES:
                    continue
                resolution["identifiers"] += 1
                resolution["resolved_without_twins"] += resolve(identifier, namespaces, without_twins) is not None
                name = resolve(identifier, namespaces, with_twins)
                if name is not None:
                    resolution["resolved_with_twins"] += 1
                    relevant.add(name)
            if relevant:
                problem = {"id": row["id"], "informal": row["informal"], "relevant": relevant}
                problems[label].append(problem)
                if row["split"] == "test":  # the hybrid weight was chosen on the valid splits
                    problems.setdefault(f"{label}_test", []).append(problem)
    relevant_all = set().union(*(p["relevant"] for ps in problems.values() for p in ps))
    print(
        f"resolution: {resolution}; {unparsed} statements unparsed; {len(relevant_all)} distinct relevant declarations",
        file=sys.stderr,
    )

    results: dict[str, dict] = {}
    if args.index is not None:
        index = DeclarationIndex.load(args.index)
        runs = [(index.manifest.variant + f"-{index.manifest.max_seq_length}", index, None)]
    else:
        others = sorted(with_twins - relevant_all)
        sample = random.Random(args.seed).sample(others, min(args.distractors, len(others)))
        subset = [by_name[name] for name in sorted(relevant_all | set(sample))]
        runs = [(spec, None, subset) for spec in args.configs.split(",")]
    bm25_results: dict[str, dict] | None = None
    index_count = 0
    for spec, index, subset in runs:
        if index is None:
            embedder = Embedder(parse_config(spec))
            t0 = time.perf_counter()
            index = DeclarationIndex.build(subset, embedder, progress=sys.stderr.isatty())
            print(f"{spec}: embedded {len(index)} in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
            if args.save_index is not None:
                index.save(args.save_index)
        else:
            embedder = Embedder(
                EmbedderConfig(model=index.manifest.model, max_seq_length=index.manifest.max_seq_length)
            )
        index_count = len(index)
        dense = DenseRetriever(index, embedder)
        bm25 = BM25Retriever.from_index(index)
        hybrid = HybridRetriever([dense, bm25], weights=[1.0, DEFAULT_BM25_WEIGHT])
        run: dict[str, dict] = {}
        for label, items in problems.items():
            if bm25_results is None or label not in bm25_results:
                bm25_results = bm25_results or {}
                bm25_results[label] = evaluate(bm25, items)
            run[label] = {
                "dense": evaluate(dense, items),
                "bm25": bm25_results[label],
                "hybrid": evaluate(hybrid, items),
                "problems": len(items),
            }
        results[spec] = run
        for label, metrics in run.items():
            print(f"{spec:>16} {label:>9} ({metrics['problems']} problems)", file=sys.stderr, flush=True)
            for retriever in ("dense", "bm25", "hybrid"):
                m = metrics[retriever]
                print(
                    f"{'':>28}{retriever:>7}  R@5 {m['recall@5']:.3f}  R@20 {m['recall@20']:.3f}  MRR {m['mrr']:.3f}",
                    file=sys.stderr,
                    flush=True,
                )

    headline = {
        "index_declarations": index_count,
        "distractors": None if args.index else args.distractors,
        "constants": resolution,
        "unparsed_statements": unparsed,
        "results": {
            spec: {
                label: {r: {k: round(v, 4) for k, v in m[r].items()} for r in ("dense", "bm25", "hybrid")}
                | {"problems": m["problems"]}
                for label, m in run.items()
            }
            for spec, run in results.items()
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
