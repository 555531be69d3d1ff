"""Retrievers over declarations (dense, BM25, hybrid) and over solved examples, all `Retriever`-shaped."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

import numpy as np

from autoformal.corpus.models import Declaration, Example
from autoformal.retrieval.base import Hit, Retriever, validate_query
from autoformal.retrieval.bm25 import BM25Index
from autoformal.retrieval.embedder import Embedder
from autoformal.retrieval.index import DeclarationIndex
from autoformal.retrieval.vector_cache import encode_cached

T = TypeVar("T")

#: Reciprocal-rank-fusion constant; 60 is the value of Cormack et al. (2009) and the usual default.
DEFAULT_FUSION_K = 60
#: Weight of BM25 against dense (1.0) in the fusion with example-guided retrieval. Chosen on the valid splits
#: of miniF2F and ProofNet (0.25 / 0.5 / 1.0 compared, benchmarks/retrieval_recall.py); test splits were not
#: looked at. BM25 alone is the weakest retriever there. (Without example guidance 0.5 was best.)
DEFAULT_BM25_WEIGHT = 0.25
#: How deep each fused retriever is read. Fusion can only promote what some retriever returned.
DEFAULT_CANDIDATES = 100


class DenseRetriever:
    """Nearest declarations to the query embedding (cosine similarity)."""

    source = "dense"

    def __init__(self, index: DeclarationIndex, embedder: Embedder) -> None:
        index.check_embedder(embedder)
        self.index = index
        self.embedder = embedder

    def search(self, query: str, k: int = 10) -> list[Hit[Declaration]]:
        query = validate_query(query, k)
        scores, ids = self.index.search_vectors(self.embedder.encode_query(query), k)
        hits = [(int(row), float(score)) for row, score in zip(ids[0], scores[0], strict=True) if row >= 0]
        return [
            Hit(item=self.index.declarations[row], score=score, rank=rank, source=self.source)
            for rank, (row, score) in enumerate(hits, start=1)
        ]


class BM25Retriever:
    """Lexical matches on declaration names, signatures and docstrings."""

    source = "bm25"

    def __init__(self, declarations: Sequence[Declaration], bm25: BM25Index | None = None) -> None:
        self.declarations = list(declarations)
        self.bm25 = bm25 if bm25 is not None else BM25Index.build(self.declarations)
        if self.bm25.count != len(self.declarations):
            raise ValueError(f"BM25 index has {self.bm25.count} documents for {len(self.declarations)} declarations")

    @classmethod
    def from_index(cls, index: DeclarationIndex) -> BM25Retriever:
        return cls(index.declarations, index.bm25)

    def search(self, query: str, k: int = 10) -> list[Hit[Declaration]]:
        query = validate_query(query, k)
        return [
            Hit(item=self.declarations[row], score=score, rank=rank, source=self.source)
            for rank, (row, score) in enumerate(self.bm25.top_k(query, k), start=1)
        ]


def _identity(item: object) -> Hashable:
    for attribute in ("name", "id"):
        value = getattr(item, attribute, None)
        if isinstance(value, str):
            return value
    return id(item)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Hit[T]]],
    weights: Sequence[float],
    *,
    fusion_k: int = DEFAULT_FUSION_K,
    k: int = 10,
    key: Callable[[T], Hashable] = _identity,
    source: str = "hybrid",
) -> list[Hit[T]]:
    """Fuse ranked hit lists: score(d) = sum_r w_r / (fusion_k + rank_r(d)); the best ``k``, as hits."""
    fused: dict[Hashable, float] = {}
    items: dict[Hashable, T] = {}
    for hits, weight in zip(rankings, weights, strict=True):
        for hit in hits:
            identity = key(hit.item)
            items.setdefault(identity, hit.item)
            fused[identity] = fused.get(identity, 0.0) + weight / (fusion_k + hit.rank)
    # Ties (same fused score) keep first-seen order, i.e. the first ranking's order.
    ranked = sorted(fused.items(), key=lambda pair: -pair[1])[:k]
    return [
        Hit(item=items[identity], score=score, rank=rank, source=source)
        for rank, (identity, score) in enumerate(ranked, start=1)
    ]


class HybridRetriever(Generic[T]):
    """Reciprocal rank fusion of several retrievers: score(d) = sum_r w_r / (fusion_k + rank_r(d)).

    RRF needs no score calibration between BM25 and cosine similarities, which live on unrelated scales.
    """

    source = "hybrid"

    def __init__(
        self,
        retrievers: Sequence[Retriever[T]],
        *,
        fusion_k: int = DEFAULT_FUSION_K,
        candidates: int = DEFAULT_CANDIDATES,
        weights: Sequence[float] | None = None,
        key: Callable[[T], Hashable] = _identity,
    ) -> None:
        if not retrievers:
            raise ValueError("HybridRetriever needs at least one retriever to fuse")
        if weights is not None and (len(weights) != len(retrievers) or min(weights) < 0):
            raise ValueError("weights must be one non-negative number per retriever")
        if fusion_k < 0 or candidates < 1:
            raise ValueError("fusion_k must be >= 0 and candidates >= 1")
        self.retrievers = list(retrievers)
        self.fusion_k = fusion_k
        self.candidates = candidates
        self.weights = list(weights) if weights is not None else [1.0] * len(self.retrievers)
        self._key = key

    def search(self, query: str, k: int = 10) -> list[Hit[T]]:
        query = validate_query(query, k)
        depth = max(k, self.candidates)
        rankings = [retriever.search(query, depth) for retriever in self.retrievers]
        return reciprocal_rank_fusion(rankings, self.weights, fusion_k=self.fusion_k, k=k, key=self._key)


class ExampleRetriever:
    """Solved examples whose informal statement is closest to the query (few-shot selection)."""

    source = "examples"

    def __init__(self, examples: Sequence[Example], embedder: Embedder) -> None:
        self.examples = list(examples)
        self.embedder = embedder
        # The same examples on every start: their vectors come from the on-disk cache after the first.
        self._vectors = encode_cached(embedder, [example.informal for example in self.examples])

    def search(self, query: str, k: int = 10) -> list[Hit[Example]]:
        query = validate_query(query, k)
        if not self.examples:
            return []
        scores = self._vectors @ self.embedder.encode_query(query)
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            Hit(item=self.examples[row], score=float(scores[row]), rank=rank, source=self.source)
            for rank, row in enumerate(order, start=1)
        ]
