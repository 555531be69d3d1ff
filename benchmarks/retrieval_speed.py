"""Index build throughput and query latency.

1. Throughput on the same 2000 Mathlib declarations (fixed random sample, texts as `declaration_text`
   builds them): the plain baseline is sentence-transformers `encode` in chunks of 256 texts, batch 256, the
   model's own max_seq_length (256), no global length sorting; against it the `Embedder` configurations
   (ONNX Runtime, global length-sorted batches, max_seq_length 128, optionally int8). Also reports how close
   the optimised vectors are to the baseline's (cosine), the recall check is `retrieval_recall.py`.
2. Query latency (model loaded beforehand, so excluded) over the whole corpus: BM25 over all 251,912 named
   declarations (real), query encoding (real), and FAISS search over 251,912 vectors. Embedding the whole
   corpus takes longer than this benchmark may run on 2 shared cores, so unless `--index DIR` names a
   prebuilt full index, the FAISS rows are the 2000 real sample vectors tiled with small noise
   (`dense_vectors: "tiled"`): exact (flat) search costs the same for any vectors; HNSW cost depends
   somewhat on the data.
3. Peak resident memory of this process.

    python benchmarks/retrieval_speed.py [--sample 2000] [--queries 200] [--index DIR]

Last stdout line: one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from _shared import shared_data_dir

from autoformal.corpus import load_declarations
from autoformal.retrieval import BM25Index, DeclarationIndex, Embedder, EmbedderConfig
from autoformal.retrieval.embedder import resolve_model_path
from autoformal.retrieval.index import build_faiss_index
from autoformal.retrieval.text import declaration_text


def percentiles(samples: list[float]) -> dict[str, float]:
    values = np.asarray(samples) * 1000
    return {"p50_ms": round(float(np.percentile(values, 50)), 2), "p95_ms": round(float(np.percentile(values, 95)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--index", type=Path, help="Prebuilt full-corpus index for the dense latency.")
    parser.add_argument("--configs", default="onnx-fp32-128,onnx-int8-128")
    parser.add_argument("--no-latency", action="store_true", help="Throughput only (skips part 2).")
    args = parser.parse_args()

    data = shared_data_dir()
    if not data.is_dir():
        print(f"shared data not found at {data}: set AUTOFORMAL_SHARED_DIR", file=sys.stderr)
        print(json.dumps({"skipped": "no shared data"}))
        return
    load_average = os.getloadavg()
    corpus = load_declarations(data / "mathlib" / "decls.jsonl.gz")
    source_parsed = [d for d in corpus.declarations if d.derived_from is None]
    texts = [declaration_text(d) for d in random.Random(args.seed).sample(source_parsed, args.sample)]

    # -- 1. throughput -------------------------------------------------------------------------------
    from sentence_transformers import SentenceTransformer

    plain = SentenceTransformer(resolve_model_path("default"), device="cpu")
    plain.encode(texts[:32])  # warm-up, as for the optimised encoders
    started = time.perf_counter()
    baseline = np.vstack(
        [plain.encode(texts[i : i + 256], batch_size=256, normalize_embeddings=True) for i in range(0, len(texts), 256)]
    )
    baseline_rate = len(texts) / (time.perf_counter() - started)
    print(
        f"baseline (torch, batch 256, max_seq_length {plain.max_seq_length}): {baseline_rate:.1f} decl/s",
        file=sys.stderr,
    )
    del plain

    throughput: dict[str, dict[str, float]] = {}
    query_embedder: Embedder | None = None
    for spec in args.configs.split(","):
        backend, precision, length = spec.split("-")
        config = EmbedderConfig(backend=backend, quantize=precision == "int8", max_seq_length=int(length))
        embedder = Embedder(config)
        embedder.encode(texts[:32])
        started = time.perf_counter()
        vectors = embedder.encode(texts)
        rate = len(texts) / (time.perf_counter() - started)
        cosine = (vectors * baseline).sum(axis=1)
        throughput[spec] = {
            "decl_per_s": round(rate, 1),
            "speedup": round(rate / baseline_rate, 2),
            "cosine_to_baseline_mean": round(float(cosine.mean()), 4),
            "cosine_to_baseline_min": round(float(cosine.min()), 4),
            "full_corpus_minutes": round(len(corpus) / rate / 60, 1),
        }
        print(f"{spec}: {throughput[spec]}", file=sys.stderr)
        if query_embedder is None:
            query_embedder = embedder
    assert query_embedder is not None

    if args.no_latency:
        print(
            json.dumps(
                {
                    "sample": len(texts),
                    "load_average_at_start": [round(x, 2) for x in load_average],
                    "baseline_decl_per_s": round(baseline_rate, 1),
                    "throughput": throughput,
                }
            )
        )
        return

    # -- 2. latency over the whole corpus --------------------------------------------------------------
    started = time.perf_counter()
    bm25 = BM25Index.build(corpus.declarations)
    bm25_build_s = time.perf_counter() - started
    faiss_indexes: dict[str, Any] = {}
    if args.index is not None:
        index = DeclarationIndex.load(args.index, embedder=query_embedder)
        dense_source = "real"
        faiss_indexes[index.manifest.index_type] = index
        rows = len(index)
    else:
        dense_source = "tiled"
        base = query_embedder.encode(texts)
        rng = np.random.default_rng(args.seed)
        rows = len(corpus.declarations)
        tiled = np.resize(base, (rows, base.shape[1])) + rng.normal(0, 0.05, (rows, base.shape[1]))
        tiled = (tiled / np.linalg.norm(tiled, axis=1, keepdims=True)).astype(np.float32)
        for kind in ("flat", "hnsw"):
            started = time.perf_counter()
            faiss_indexes[kind] = build_faiss_index(tiled, kind)  # type: ignore[arg-type]
            print(
                f"faiss {kind} over {rows} tiled vectors built in {time.perf_counter() - started:.0f}s", file=sys.stderr
            )
    rows_bench = [json.loads(line) for line in (data / "benchmarks" / "minif2f_lean4_yangky11.jsonl").open()]
    queries = [row["informal"] for row in rows_bench[: args.queries]]
    timings: dict[str, list[float]] = {"encode": [], "bm25": [], **{f"faiss_{k}": [] for k in faiss_indexes}}
    totals: dict[str, list[float]] = {f"hybrid_{k}": [] for k in faiss_indexes}
    for query in queries:
        t0 = time.perf_counter()
        vector = query_embedder.encode([query])
        t1 = time.perf_counter()
        bm25.top_k(query, 100)
        t2 = time.perf_counter()
        timings["encode"].append(t1 - t0)
        timings["bm25"].append(t2 - t1)
        for kind, faiss_index in faiss_indexes.items():
            t3 = time.perf_counter()
            if isinstance(faiss_index, DeclarationIndex):
                faiss_index.search_vectors(vector, 100)
            else:
                faiss_index.search(vector, 100)
            elapsed = time.perf_counter() - t3
            timings[f"faiss_{kind}"].append(elapsed)
            totals[f"hybrid_{kind}"].append((t1 - t0) + (t2 - t1) + elapsed)
    latency = {name: percentiles(values) for name, values in {**timings, **totals}.items()}
    for name, value in latency.items():
        print(f"{name:>12}: {value}", file=sys.stderr)

    peak_mb = psutil.Process().memory_info().rss / 2**20
    try:
        import resource

        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except ImportError:  # not on Linux/macOS: fall back to the current RSS
        pass
    headline = {
        "sample": len(texts),
        "load_average_at_start": [round(x, 2) for x in load_average],
        "cpus": os.cpu_count(),
        "baseline_decl_per_s": round(baseline_rate, 1),
        "throughput": throughput,
        "latency_rows": rows,
        "dense_vectors": dense_source,
        "bm25_build_s": round(bm25_build_s, 1),
        "latency": latency,
        "peak_rss_mb": round(peak_mb),
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
