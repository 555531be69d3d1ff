"""Retrieval of Mathlib declarations and solved examples for a query (the pipeline's first stage).

Every retriever has the `Retriever` shape, ``search(query, k) -> list[Hit[T]]``. Importing this package is
cheap: sentence-transformers, torch, FAISS and bm25s are loaded only when an embedder or index is built.
"""

from autoformal.errors import EmbedderError, InvalidQueryError, RetrievalError
from autoformal.retrieval.base import (
    MAX_QUERY_CHARS,
    Hit,
    Retriever,
    validate_query,
)
from autoformal.retrieval.bm25 import BM25Index
from autoformal.retrieval.config import (
    DEFAULT_INDEX_DIR,
    RetrievalConfig,
    build_example_retriever,
    build_retriever,
)
from autoformal.retrieval.embedder import DEFAULT_MODEL, Embedder, EmbedderConfig
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
