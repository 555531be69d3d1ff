"""Index build throughput, query latency and the peak memory of a process that searches the full index.

1. Embedding throughput on the same sample of statement-index declarations (fixed random sample of the kinds
   `autoformal index build` indexes by default, texts as `declaration_text` builds them) for each encoder
   configuration (`static` = model2vec distilled from the shipped MiniLM; `onnx-fp32-128`, `onnx-int8-128`,
   `onnx-fp32-64` = MiniLM on ONNX Runtime at that precision and token limit), and what that rate means for
   the statement index (all statement-kind declarations) and for every declaration. Also counts identical
   encoder texts (what de-duplicating them would save).
2. With ``--index DIR`` (a prebuilt full-corpus index), in a fresh process so nothing else inflates its
   memory: load time, then the latency of the default retriever (`build_retriever(RetrievalConfig(index_dir))`:
   dense + BM25 + example-guided over the shipped examples) on the informal statements of miniF2F and
   ProofNet, each query once (cold), then again (query vectors from the LRU); the components alone (query
   encoding, FAISS, BM25, example vote); the CPU time of each cold query (on a loaded machine the wall time is
   mostly waiting for a core); peak resident memory of that process.

    python benchmarks/retrieval_speed.py [--sample 1000] [--configs static,onnx-int8-128] [--index DIR]

Last stdout line: one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from _shared import load_average, shared_data_dir

from autoformal.corpus import load_declarations, select_kinds
from autoformal.retrieval import Embedder, EmbedderConfig
from autoformal.retrieval.text import declaration_text

BENCHMARKS = ("minif2f_lean4_yangky11.jsonl", "proofnet_lean4_rahul3613.jsonl")


def peak_rss_mb() -> int:
    """This process's peak resident memory (VmHWM). Not `ru_maxrss`: Linux carries that over fork and exec, so
    a child would report its parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def percentiles(samples: list[float]) -> dict[str, float]:
    values = np.asarray(samples) * 1000
    return {"p50_ms": round(float(np.percentile(values, 50)), 2), "p95_ms": round(float(np.percentile(values, 95)), 2)}


def parse_config(spec: str) -> EmbedderConfig:
    if spec == "static":
        return EmbedderConfig(backend="static")
    backend, precision, length = spec.split("-")
    return EmbedderConfig(backend=backend, quantize=precision == "int8", max_seq_length=int(length))  # type: ignore[arg-type]


def throughput(args: argparse.Namespace, data: Path) -> dict:
    corpus = load_declarations(data / "mathlib" / "decls.jsonl.gz").declarations
    statement = select_kinds(corpus, include_theorems=False)
    texts = [declaration_text(d) for d in statement]
    duplicates = sum(count - 1 for count in Counter(texts).values())
    sample = random.Random(args.seed).sample(texts, min(args.sample, len(texts)))
    rows: dict[str, dict] = {}
    for spec in args.configs.split(","):
        embedder = Embedder(parse_config(spec))
        embedder.encode(sample[:32])  # warm-up (ONNX session, caches)
        load = load_average()
        started = time.perf_counter()
        embedder.encode(sample)
        seconds = time.perf_counter() - started
        rate = len(sample) / seconds
        rows[spec] = {
            "decl_per_s": round(rate, 1),
            "statement_index_embed_minutes": round(len(statement) / rate / 60, 2),
            "all_declarations_embed_minutes": round(len(corpus) / rate / 60, 2),
            "load_average": load,
        }
        print(f"{spec:>14}: {rate:8.1f} decl/s (load {load})", file=sys.stderr, flush=True)
    return {
        "sample": len(sample),
        "statement_declarations": len(statement),
        "all_declarations": len(corpus),
        "duplicate_encoder_texts": duplicates,
        "configs": rows,
    }


def latency(index_dir: Path, data: Path, queries: int) -> dict:
    """Runs in its own process (``--latency-only``): its peak memory is that of a searching process."""
    from autoformal.retrieval import RetrievalConfig, build_retriever
    from autoformal.retrieval.retrievers import HybridRetriever

    texts: list[str] = []
    for file in BENCHMARKS:
        for line in (data / "benchmarks" / file).read_text(encoding="utf-8").splitlines():
            texts.append(json.loads(line)["informal"])
    texts = list(dict.fromkeys(texts))[:queries]
    started = time.perf_counter()
    retriever = build_retriever(RetrievalConfig(index_dir=index_dir))
    load_seconds = time.perf_counter() - started
    assert isinstance(retriever, HybridRetriever)
    dense, bm25, guided = retriever.retrievers
    rss_loaded = peak_rss_mb()
    load = load_average()
    cold, cold_cpu, warm, encode, faiss, lexical, vote = [], [], [], [], [], [], []
    embedder = dense.embedder  # type: ignore[attr-defined]
    for text in texts:
        t0 = time.perf_counter()
        embedder.encode([text])
        encode.append(time.perf_counter() - t0)
    for text in texts:
        t0, c0 = time.perf_counter(), time.process_time()
        retriever.search(text, 10)
        cold.append(time.perf_counter() - t0)
        cold_cpu.append(time.process_time() - c0)
        t0 = time.perf_counter()
        retriever.search(text, 10)
        warm.append(time.perf_counter() - t0)
        vector = embedder.encode_query(text)
        t0 = time.perf_counter()
        dense.index.search_vectors(vector, retriever.candidates)  # type: ignore[attr-defined]
        faiss.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        bm25.search(text, retriever.candidates)
        lexical.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        guided.search(text, retriever.candidates)
        vote.append(time.perf_counter() - t0)
    return {
        "index": str(index_dir),
        "queries": len(texts),
        "load_seconds": round(load_seconds, 2),
        "hybrid_cold": percentiles(cold),
        # CPU seconds the query used: on a loaded machine wall time is mostly waiting for a core, and the
        # search is single-threaded, so this is what an idle machine's wall time would be.
        "hybrid_cold_cpu": percentiles(cold_cpu),
        "hybrid_repeat_query_lru": percentiles(warm),
        "query_encoding": percentiles(encode),
        "faiss": percentiles(faiss),
        "bm25": percentiles(lexical),
        "example_vote": percentiles(vote),
        "rss_after_load_mb": round(rss_loaded),
        "peak_rss_mb": peak_rss_mb(),
        "load_average": [load, load_average()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--index", type=Path, help="Prebuilt full-corpus index for latency and memory.")
    parser.add_argument("--configs", default="static,onnx-int8-128,onnx-fp32-128")
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--latency-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    data = shared_data_dir()
    if not data.is_dir():
        print(f"shared data not found at {data}: set AUTOFORMAL_SHARED_DIR", file=sys.stderr)
        print(json.dumps({"skipped": "no shared data"}))
        return
    if args.latency_only:
        print(json.dumps(latency(args.index, data, args.queries)))
        return
    headline: dict = {"load_average_start": load_average()}
    if not args.no_throughput:
        headline["throughput"] = throughput(args, data)
    if args.index is not None:
        command = [
            sys.executable,
            __file__,
            "--latency-only",
            "--index",
            str(args.index),
            "--queries",
            str(args.queries),
        ]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        headline["latency"] = json.loads(output.strip().splitlines()[-1])
        print(json.dumps(headline["latency"], indent=1), file=sys.stderr)
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
