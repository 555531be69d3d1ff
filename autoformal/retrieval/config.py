"""`RetrievalConfig` (what to retrieve from, with which model and retriever) and `build_retriever`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from autoformal.corpus.models import Declaration, Example
from autoformal.retrieval.base import Retriever
from autoformal.retrieval.defaults import DEFAULT_INDEX_DIR, DEFAULT_MODEL
from autoformal.retrieval.embedder import Embedder, EmbedderConfig
from autoformal.retrieval.retrievers import DEFAULT_BM25_WEIGHT, DEFAULT_CANDIDATES, DEFAULT_FUSION_K

RetrieverKind = Literal["hybrid", "dense", "bm25"]


class RetrievalConfig(BaseModel):
    """Retrieval settings, as data (CLI flags and pipeline configs map onto these fields)."""

    model_config = ConfigDict(frozen=True)

    index_dir: Path = Field(default=DEFAULT_INDEX_DIR, description="Directory written by `autoformal index build`.")
    model: str | None = Field(
        default=None, description="Query encoder; None uses the model recorded in the index manifest."
    )
    max_seq_length: int | None = Field(default=128, ge=8, description="Encoder token limit (see EmbedderConfig).")
    retriever: RetrieverKind = "hybrid"
    k: int = Field(default=10, ge=1, description="Declarations returned per query.")
    fusion_k: int = Field(default=DEFAULT_FUSION_K, ge=0, description="Reciprocal-rank-fusion constant.")
    bm25_weight: float = Field(default=DEFAULT_BM25_WEIGHT, ge=0, description="BM25's fusion weight (dense: 1).")
    candidates: int = Field(default=DEFAULT_CANDIDATES, ge=1, description="Depth read from each fused retriever.")
    examples: Path | None = Field(default=None, description="Examples JSONL for few-shot; None: the shipped set.")
    verify_checksums: bool = Field(default=True, description="Check index file checksums on load.")

    def embedder_config(
        self, built_with: str, built_max_seq_length: int | None, built_variant: str = "onnx-fp32"
    ) -> EmbedderConfig:
        """The query encoder: the configured model, else exactly what the index was built with."""
        if self.model is not None:
            return EmbedderConfig(model=self.model, max_seq_length=self.max_seq_length)
        backend, _, precision = built_variant.partition("-")
        return EmbedderConfig(
            model=built_with,
            max_seq_length=built_max_seq_length,
            backend="torch" if backend == "torch" else "onnx",
            quantize=precision == "int8",
        )


def build_retriever(config: RetrievalConfig, *, embedder: Embedder | None = None) -> Retriever[Declaration]:
    """Load the index in ``config.index_dir`` and return the configured declaration retriever.

    Pass ``embedder`` to share one loaded model between retrieval and later stages (scoring).
    """
    from autoformal.retrieval.index import DeclarationIndex
    from autoformal.retrieval.retrievers import BM25Retriever, DenseRetriever, HybridRetriever

    index = DeclarationIndex.load(config.index_dir, verify=config.verify_checksums)
    if config.retriever == "bm25":
        return BM25Retriever.from_index(index)
    if embedder is None:
        manifest = index.manifest
        embedder = Embedder(config.embedder_config(manifest.model, manifest.max_seq_length, manifest.variant))
    dense = DenseRetriever(index, embedder)
    if config.retriever == "dense":
        return dense
    return HybridRetriever(
        [dense, BM25Retriever.from_index(index)],
        weights=[1.0, config.bm25_weight],
        fusion_k=config.fusion_k,
        candidates=config.candidates,
    )


def build_example_retriever(config: RetrievalConfig, *, embedder: Embedder | None = None) -> Retriever[Example]:
    """Dense retriever over the few-shot examples (``config.examples`` or the shipped set)."""
    from autoformal.corpus.examples import load_examples
    from autoformal.retrieval.retrievers import ExampleRetriever

    if embedder is None:
        embedder = Embedder(config.embedder_config(DEFAULT_MODEL, config.max_seq_length))
    return ExampleRetriever(load_examples(config.examples), embedder)
