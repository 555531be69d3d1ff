"""`RetrievalConfig` (what to retrieve from, with which model and retriever) and `build_retriever`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from autoformal.corpus.models import Declaration, Example
from autoformal.retrieval.base import Retriever
from autoformal.retrieval.defaults import DEFAULT_INDEX_DIR, DEFAULT_MODEL
from autoformal.retrieval.embedder import Embedder, EmbedderConfig
from autoformal.retrieval.guided import DEFAULT_GUIDED_WEIGHT, DEFAULT_NEIGHBOURS, DEFAULT_SHARPNESS
from autoformal.retrieval.retrievers import DEFAULT_BM25_WEIGHT, DEFAULT_CANDIDATES, DEFAULT_FUSION_K

if TYPE_CHECKING:
    from autoformal.retrieval.index import DeclarationIndex

RetrieverKind = Literal["hybrid", "dense", "bm25", "examples"]


class RetrievalConfig(BaseModel):
    """Retrieval settings, as data (CLI flags and pipeline configs map onto these fields)."""

    model_config = ConfigDict(frozen=True)

    index_dir: Path = Field(default=DEFAULT_INDEX_DIR, description="Directory written by `autoformal index build`.")
    model: str | None = Field(
        default=None, description="Query encoder; None uses the model recorded in the index manifest."
    )
    max_seq_length: int | None = Field(default=128, ge=8, description="Encoder token limit (see EmbedderConfig).")
    retriever: RetrieverKind = Field(
        default="hybrid",
        description="hybrid: dense + BM25 + example-guided, fused by reciprocal rank (the best measured); "
        "examples: the declarations the nearest solved examples use, alone.",
    )
    k: int = Field(default=10, ge=1, description="Declarations returned per query.")
    fusion_k: int = Field(default=DEFAULT_FUSION_K, ge=0, description="Reciprocal-rank-fusion constant.")
    bm25_weight: float = Field(default=DEFAULT_BM25_WEIGHT, ge=0, description="BM25's fusion weight (dense: 1).")
    candidates: int = Field(default=DEFAULT_CANDIDATES, ge=1, description="Depth read from each fused retriever.")
    examples: Path | None = Field(
        default=None,
        description="Solved examples (benchmark-format JSONL) for few-shot prompts and example-guided retrieval; "
        "None: the shipped set. A larger set of problems like yours retrieves better.",
    )
    guided_weight: float = Field(
        default=DEFAULT_GUIDED_WEIGHT,
        ge=0,
        description="Example-guided retrieval's fusion weight on a statement index (an index with theorems, built "
        "for proof search, leaves it out); 0 leaves it out.",
    )
    example_neighbours: int = Field(default=DEFAULT_NEIGHBOURS, ge=1, description="Examples read per query.")
    example_sharpness: float = Field(
        default=DEFAULT_SHARPNESS, gt=0, description="Power applied to example similarities before they vote."
    )
    verify_checksums: bool = Field(default=True, description="Check index file checksums on load.")

    def embedder_config(
        self, built_with: str, built_max_seq_length: int | None, built_variant: str = "onnx-fp32"
    ) -> EmbedderConfig:
        """The query encoder: the configured model, else exactly what the index was built with."""
        if self.model is not None:
            return EmbedderConfig(model=self.model, max_seq_length=self.max_seq_length)
        return EmbedderConfig.from_variant(built_with, built_max_seq_length, built_variant)


def query_embedder(config: RetrievalConfig, index: DeclarationIndex, embedder: Embedder | None) -> Embedder:
    """``embedder`` if its vectors live in the index's space, else the encoder the index was built with.

    The pipeline shares one MiniLM encoder between retrieval and scoring; an index of static (model2vec)
    vectors distilled from the same model has other dimensions and another space, and needs its own.
    """
    manifest = index.manifest
    static = manifest.variant.startswith("static")
    if (
        embedder is not None
        and embedder.model_name == manifest.model
        and embedder.dimension == manifest.dimension
        and embedder.variant.startswith("static") == static
    ):
        return embedder
    return Embedder(config.embedder_config(manifest.model, manifest.max_seq_length, manifest.variant))


def build_retriever(config: RetrievalConfig, *, embedder: Embedder | None = None) -> Retriever[Declaration]:
    """Load the index in ``config.index_dir`` and return the configured declaration retriever.

    Pass ``embedder`` to share one loaded model between retrieval and later stages (scoring); it is used
    when its vectors are comparable with the index's (`query_embedder`).
    """
    from autoformal.corpus.examples import load_examples
    from autoformal.retrieval.guided import ExampleGuidedRetriever
    from autoformal.retrieval.index import DeclarationIndex
    from autoformal.retrieval.retrievers import BM25Retriever, DenseRetriever, HybridRetriever

    index = DeclarationIndex.load(config.index_dir, verify=config.verify_checksums)
    if config.retriever == "bm25":
        return BM25Retriever.from_index(index)
    embedder = query_embedder(config, index, embedder)
    dense = DenseRetriever(index, embedder)
    if config.retriever == "dense":
        return dense

    def guided() -> ExampleGuidedRetriever:
        return ExampleGuidedRetriever(
            index.declarations,
            load_examples(config.examples),
            embedder,
            neighbours=config.example_neighbours,
            sharpness=config.example_sharpness,
        )

    if config.retriever == "examples":
        return guided()
    retrievers: list[Retriever[Declaration]] = [dense, BM25Retriever.from_index(index)]
    weights = [1.0, config.bm25_weight]
    # Example statements name definitions, never lemmas: on an index built for proof search (`--theorems`)
    # their vote would outrank the lemmas it is searched for, so it joins the fusion on statement indexes only.
    if config.guided_weight > 0 and not index.manifest.theorems:
        retrievers.append(guided())
        weights.append(config.guided_weight)
    return HybridRetriever(retrievers, weights=weights, fusion_k=config.fusion_k, candidates=config.candidates)


def build_example_retriever(config: RetrievalConfig, *, embedder: Embedder | None = None) -> Retriever[Example]:
    """Dense retriever over the few-shot examples (``config.examples`` or the shipped set)."""
    from autoformal.corpus.examples import load_examples
    from autoformal.retrieval.retrievers import ExampleRetriever

    if embedder is None:
        embedder = Embedder(config.embedder_config(DEFAULT_MODEL, config.max_seq_length))
    return ExampleRetriever(load_examples(config.examples), embedder)
