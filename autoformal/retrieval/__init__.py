"""Retrieval of Mathlib declarations and solved examples for a query (the pipeline's first stage).

Every retriever has the `Retriever` shape, ``search(query, k) -> list[Hit[T]]``. Importing this package is
cheap: its names load their modules on first use, and sentence-transformers, torch, FAISS and bm25s load
only when an embedder or index is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoformal._lazy import lazy_exports

if TYPE_CHECKING:
    from autoformal.errors import EmbedderError, InvalidQueryError, RetrievalError
    from autoformal.retrieval.base import MAX_QUERY_CHARS, Hit, Retriever, validate_query
    from autoformal.retrieval.bm25 import BM25Index
    from autoformal.retrieval.config import RetrievalConfig, build_example_retriever, build_retriever
    from autoformal.retrieval.defaults import DEFAULT_INDEX_DIR, DEFAULT_MODEL
    from autoformal.retrieval.embedder import Embedder, EmbedderConfig
    from autoformal.retrieval.index import (
        BuildStats,
        DeclarationIndex,
        IndexCorruptError,
        IndexManifest,
        IndexMismatchError,
        IndexNotFoundError,
        IndexStateError,
    )
    from autoformal.retrieval.retrievers import BM25Retriever, DenseRetriever, ExampleRetriever, HybridRetriever
    from autoformal.retrieval.text import declaration_text, split_name

# Name → defining module, imported on first access (numpy, pydantic models, FAISS wrappers), so that
# `autoformal.retrieval.defaults` and a single submodule stay cheap to import.
_ORIGINS = {
    "EmbedderError": "autoformal.errors",
    "InvalidQueryError": "autoformal.errors",
    "RetrievalError": "autoformal.errors",
    "Hit": "autoformal.retrieval.base",
    "MAX_QUERY_CHARS": "autoformal.retrieval.base",
    "Retriever": "autoformal.retrieval.base",
    "validate_query": "autoformal.retrieval.base",
    "BM25Index": "autoformal.retrieval.bm25",
    "RetrievalConfig": "autoformal.retrieval.config",
    "build_example_retriever": "autoformal.retrieval.config",
    "build_retriever": "autoformal.retrieval.config",
    "DEFAULT_INDEX_DIR": "autoformal.retrieval.defaults",
    "DEFAULT_MODEL": "autoformal.retrieval.defaults",
    "Embedder": "autoformal.retrieval.embedder",
    "EmbedderConfig": "autoformal.retrieval.embedder",
    "BuildStats": "autoformal.retrieval.index",
    "DeclarationIndex": "autoformal.retrieval.index",
    "IndexCorruptError": "autoformal.retrieval.index",
    "IndexManifest": "autoformal.retrieval.index",
    "IndexMismatchError": "autoformal.retrieval.index",
    "IndexNotFoundError": "autoformal.retrieval.index",
    "IndexStateError": "autoformal.retrieval.index",
    "BM25Retriever": "autoformal.retrieval.retrievers",
    "DenseRetriever": "autoformal.retrieval.retrievers",
    "ExampleRetriever": "autoformal.retrieval.retrievers",
    "HybridRetriever": "autoformal.retrieval.retrievers",
    "declaration_text": "autoformal.retrieval.text",
    "split_name": "autoformal.retrieval.text",
}
__getattr__ = lazy_exports(__name__, _ORIGINS)

__all__ = [
    "DEFAULT_INDEX_DIR",
    "DEFAULT_MODEL",
    "MAX_QUERY_CHARS",
    "BM25Index",
    "BM25Retriever",
    "BuildStats",
    "DeclarationIndex",
    "DenseRetriever",
    "Embedder",
    "EmbedderConfig",
    "EmbedderError",
    "ExampleRetriever",
    "Hit",
    "HybridRetriever",
    "IndexCorruptError",
    "IndexManifest",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexStateError",
    "InvalidQueryError",
    "RetrievalConfig",
    "RetrievalError",
    "Retriever",
    "build_example_retriever",
    "build_retriever",
    "declaration_text",
    "split_name",
    "validate_query",
]
