"""Recall of the declarations gold statements use: dense, BM25, example-guided, and their fusions.

Relevance: for each problem of miniF2F (yangky11's Lean 4 port) and ProofNet (rahul3613's port), the constants
its gold statement references, resolved as Lean would (`sqrt` under `open Real` is `Real.sqrt`;
`autoformal.retrieval.guided.statement_constants`) against the whole corpus (the index's names file, theorems
included). The query is the informal statement. Constants that do not resolve are counted by category
(`unresolved`), so what the corpus lacks is visible.

Splits (stated, never mixed): figures are reported on the TEST splits. Example-guided retrieval draws its
solved examples from the VALID splits of miniF2F and ProofNet plus all of PutnamBench (other benchmark), so no
test problem's gold can reach its own retrieval. The example-guided settings and fusion weights are chosen on
the VALID problems, each with its own example left out (leave-one-out), and only then applied to test.

Pass one or more prebuilt indexes (full corpus, built by `autoformal index build`); each is evaluated:

    autoformal index build --corpus ../shared/data/mathlib/decls.jsonl.gz --out /tmp/idx   # statement index
    python benchmarks/retrieval_recall.py --index /tmp/idx [--index /tmp/other-idx]

Last stdout line: one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from _shared import load_average, shared_data_dir

from autoformal.corpus import Declaration, Example, load_examples
from autoformal.names.core import CORE_NAMES, EXTERNAL_NAMESPACES, NOTATIONS
from autoformal.names.table import NameTable
from autoformal.retrieval import BM25Retriever, DeclarationIndex, DenseRetriever, Embedder, EmbedderConfig, Hit
from autoformal.retrieval.guided import (
    DEFAULT_GUIDED_WEIGHT,
    DEFAULT_NEIGHBOURS,
    DEFAULT_SHARPNESS,
    ExampleGuidedRetriever,
    resolve_identifiers,
)
from autoformal.retrieval.retrievers import DEFAULT_BM25_WEIGHT, reciprocal_rank_fusion

BENCHMARKS = {"minif2f": "minif2f_lean4_yangky11.jsonl", "proofnet": "proofnet_lean4_rahul3613.jsonl"}
OTHER_EXAMPLES = "putnambench.jsonl"
NUMBER_TYPES = frozenset({"ℕ", "ℤ", "ℚ", "ℝ", "ℂ"})
DEPTH = 100  # ranks beyond this count as "not retrieved" for MRR
NEIGHBOURS = (8, 16, 32, 64)
SHARPNESS = (1.0, 4.0)
GUIDED_WEIGHTS = (0.5, 1.0, 2.0, 4.0)
BM25_WEIGHTS = (0.25, 0.5, 1.0)
#: The hybrid's BM25 weight before example guidance (the "before" row).
BEFORE_BM25_WEIGHT = 0.5


def unresolved_category(identifier: str, table: NameTable) -> str:
    """Why a gold identifier names no corpus declaration."""
    head = identifier.split(".", 1)[0]
    if identifier in NUMBER_TYPES:
        return "number type notation (ℕ ℤ ℚ ℝ ℂ)"
    if identifier in NOTATIONS or not re.fullmatch(r"[\w'!?.«»]+", identifier):
        return "notation (symbols such as ∑ √ 𝓝 ∫)"
    if any("\u2100" <= ch <= "\u214f" or "\U0001d400" <= ch <= "\U0001d7ff" for ch in identifier):
        return "notation (symbols such as ∑ √ 𝓝 ∫)"
    if identifier in CORE_NAMES or head in EXTERNAL_NAMESPACES:
        return "Lean core / Batteries (not in a Mathlib corpus)"
    if identifier in table.mentioned or identifier.rsplit(".", 1)[-1] in table.fields:
        return "class field or generated declaration (used by Mathlib, not declared as such)"
    if "." in identifier and table.kind(identifier.split(".")[0]) is not None:
        return "member of a known constant (field / constructor / dot notation)"
    if re.fullmatch(r"[^\W\d_][\d₀-₉']*", identifier):
        return "single-letter auto-bound variable"
    return "other (local or renamed)"


def gold_constants(row: dict, table: NameTable, unresolved: Counter[str], examples: Counter[str]) -> list[str]:
    def resolve(name: str) -> str | None:
        return name if table.kind(name) is not None and name not in CORE_NAMES else None

    resolved = resolve_identifiers(row["formal"], row.get("header"), resolve)
    for identifier, name in resolved.items():
        if name is None:
            category = unresolved_category(identifier, table)
            unresolved[category] += 1
            examples[f"{category}: {identifier}"] += 1
    return list(dict.fromkeys(name for name in resolved.values() if name is not None))


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def ranks(hits: list[Hit[Declaration]]) -> dict[str, int]:
    return {hit.item.name: hit.rank for hit in hits}


def metrics(rankings: list[dict[str, int]], problems: list[dict]) -> dict[str, float]:
    recall5 = recall20 = reciprocal = 0.0
    for rank, problem in zip(rankings, problems, strict=True):
        relevant = problem["relevant"]
        found = [rank[name] for name in relevant if name in rank]
        recall5 += sum(r <= 5 for r in found) / len(relevant)
        recall20 += sum(r <= 20 for r in found) / len(relevant)
        reciprocal += 1.0 / min(found) if found else 0.0
    n = max(len(problems), 1)
    return {"recall@5": round(recall5 / n, 4), "recall@20": round(recall20 / n, 4), "mrr": round(reciprocal / n, 4)}


def fuse(lists: list[list[Hit[Declaration]]], weights: list[float]) -> dict[str, int]:
    return ranks(reciprocal_rank_fusion(lists, weights, k=DEPTH))


def evaluate_index(
    index_dir: Path, problems: dict[str, list[dict]], examples: list[Example], shipped: list[Example]
) -> dict:
    started = time.perf_counter()
    index = DeclarationIndex.load(index_dir)
    manifest = index.manifest
    embedder = Embedder(EmbedderConfig.from_variant(manifest.model, manifest.max_seq_length, manifest.variant))
    dense = DenseRetriever(index, embedder)
    bm25 = BM25Retriever.from_index(index)
    guided = ExampleGuidedRetriever(index.declarations, examples, embedder)
    shipped_guided = ExampleGuidedRetriever(index.declarations, shipped, embedder)
    seconds = time.perf_counter() - started
    print(f"{index_dir}: loaded in {seconds:.0f}s; {len(guided)} usable examples", file=sys.stderr)
    lists: dict[str, dict[str, list]] = {}
    for label, items in problems.items():
        lists[label] = {"dense": [dense.search(p["informal"], DEPTH) for p in items]}
        lists[label]["bm25"] = [bm25.search(p["informal"], DEPTH) for p in items]
        for neighbours, sharpness in itertools.product(NEIGHBOURS, SHARPNESS):
            guided.neighbours, guided.sharpness = neighbours, sharpness
            lists[label][f"guided-{neighbours}-{sharpness}"] = [
                guided.search(p["informal"], DEPTH, exclude=frozenset({p["id"]})) for p in items
            ]
        lists[label]["shipped"] = [shipped_guided.search(p["informal"], DEPTH) for p in items]
    # Choose on valid (leave-one-out examples), apply to test.
    valid = [p for label in problems if label.endswith("_valid") for p in problems[label]]
    valid_lists = {
        key: [hits for label in problems if label.endswith("_valid") for hits in lists[label][key]]
        for key in lists[next(iter(problems))]
    }

    def score(ranked: list[dict[str, int]]) -> float:
        return metrics(ranked, valid)["recall@20"]

    best_guided = max(
        (key for key in valid_lists if key.startswith("guided")),
        key=lambda key: score([ranks(hits) for hits in valid_lists[key]]),
    )
    best_fusion = max(
        itertools.product(BM25_WEIGHTS, GUIDED_WEIGHTS),
        key=lambda w: score(
            [
                fuse([d, b, g], [1.0, w[0], w[1]])
                for d, b, g in zip(valid_lists["dense"], valid_lists["bm25"], valid_lists[best_guided], strict=True)
            ]
        ),
    )
    result: dict = {
        "index": str(index_dir),
        "variant": manifest.variant,
        "count": manifest.count,
        "build_seconds": manifest.build_seconds,
        "chosen_on_valid": {"guided": best_guided, "bm25_weight": best_fusion[0], "guided_weight": best_fusion[1]},
    }
    for label, items in problems.items():
        per = lists[label]
        default_guided = per[f"guided-{DEFAULT_NEIGHBOURS}-{DEFAULT_SHARPNESS}"]
        rows = {
            "dense": metrics([ranks(h) for h in per["dense"]], items),
            "bm25": metrics([ranks(h) for h in per["bm25"]], items),
            "guided": metrics([ranks(h) for h in per[best_guided]], items),
            "hybrid (dense+bm25, before)": metrics(
                [fuse([d, b], [1.0, BEFORE_BM25_WEIGHT]) for d, b in zip(per["dense"], per["bm25"], strict=True)],
                items,
            ),
            "fusion (chosen on valid)": metrics(
                [
                    fuse([d, b, g], [1.0, best_fusion[0], best_fusion[1]])
                    for d, b, g in zip(per["dense"], per["bm25"], per[best_guided], strict=True)
                ],
                items,
            ),
            "fusion (library defaults)": metrics(
                [
                    fuse([d, b, g], [1.0, DEFAULT_BM25_WEIGHT, DEFAULT_GUIDED_WEIGHT])
                    for d, b, g in zip(per["dense"], per["bm25"], default_guided, strict=True)
                ],
                items,
            ),
            "guided, shipped examples only": metrics([ranks(h) for h in per["shipped"]], items),
            "fusion, shipped examples only": metrics(
                [
                    fuse([d, b, g], [1.0, DEFAULT_BM25_WEIGHT, DEFAULT_GUIDED_WEIGHT])
                    for d, b, g in zip(per["dense"], per["bm25"], per["shipped"], strict=True)
                ],
                items,
            ),
        }
        result[label] = {"problems": len(items), **rows}
        print(f"  {label} ({len(items)} problems)", file=sys.stderr)
        for name, m in rows.items():
            print(
                f"    {name:>28}  R@5 {m['recall@5']:.3f}  R@20 {m['recall@20']:.3f}  MRR {m['mrr']:.3f}",
                file=sys.stderr,
            )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, action="append", required=True, help="Prebuilt index (repeatable).")
    args = parser.parse_args()
    data = shared_data_dir()
    if not data.is_dir():
        print(f"shared data not found at {data}: set AUTOFORMAL_SHARED_DIR", file=sys.stderr)
        print(json.dumps({"skipped": "no shared data"}))
        return
    started = time.perf_counter()
    table = NameTable.load(args.index[0])  # the names file covers the whole corpus, theorems too
    problems: dict[str, list[dict]] = {}
    unresolved: Counter[str] = Counter()
    unresolved_examples: Counter[str] = Counter()
    resolved_kinds: Counter[str] = Counter()
    example_rows: list[dict] = []
    for label, file in BENCHMARKS.items():
        for row in load_rows(data / "benchmarks" / file):
            relevant = gold_constants(row, table, unresolved, unresolved_examples)
            resolved_kinds.update(str(table.kind(name).name) for name in relevant if table.kind(name))
            if row["split"] == "valid":
                example_rows.append(row)
            if relevant and row["split"] in ("valid", "test"):
                problems.setdefault(f"{label}_{row['split']}", []).append(
                    {"id": row["id"], "informal": row["informal"], "relevant": set(relevant)}
                )
    example_rows += load_rows(data / "benchmarks" / OTHER_EXAMPLES)
    staged = Path("/tmp") / f"autoformal-recall-examples-{time.time_ns()}.jsonl"
    staged.write_text(
        "".join(
            json.dumps({k: r.get(k) for k in ("id", "informal", "formal", "header", "source")}) + "\n"
            for r in example_rows
        ),
        encoding="utf-8",
    )
    examples = load_examples(staged)
    staged.unlink()
    problems = {label: problems[label] for label in sorted(problems)}
    print(
        f"problems: {{{', '.join(f'{k}: {len(v)}' for k, v in problems.items())}}}; {len(examples)} examples "
        f"(valid splits + PutnamBench); unresolved gold identifiers: {dict(unresolved)}",
        file=sys.stderr,
    )
    # The shipped hand-written examples, less any that paraphrase a test problem.
    tests = [
        row["informal"]
        for file in BENCHMARKS.values()
        for row in load_rows(data / "benchmarks" / file)
        if row["split"] == "test"
    ]
    shipped = [
        example
        for example in load_examples()
        if not any(difflib.SequenceMatcher(None, example.informal, text).ratio() > 0.8 for text in tests)
    ]
    print(f"shipped examples kept: {len(shipped)}", file=sys.stderr)
    load_before = load_average()
    results = [evaluate_index(index_dir, problems, examples, shipped) for index_dir in args.index]
    headline = {
        "split": "test splits reported; examples = miniF2F+ProofNet valid + PutnamBench; settings chosen on valid "
        "(leave-one-out)",
        "examples": len(examples),
        "shipped_examples_kept": len(shipped),
        "problems": {k: len(v) for k, v in problems.items()},
        "unresolved_gold_identifiers": dict(unresolved.most_common()),
        "unresolved_top": [f"{k} x{v}" for k, v in unresolved_examples.most_common(40)],
        "resolved_kinds": dict(resolved_kinds.most_common()),
        "results": results,
        "load_average": [load_before, load_average()],
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(headline, ensure_ascii=False))


if __name__ == "__main__":
    main()
