"""Lexical search over declaration names, signatures and docstrings with ``bm25s``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autoformal.corpus.models import Declaration
from autoformal.errors import RetrievalError
from autoformal.retrieval.text import declaration_bm25_tokens, query_bm25_tokens


class BM25Index:
    """A bm25s index whose document ids are row numbers of the declaration list it was built from."""

    def __init__(self, model: Any, count: int) -> None:
        self._model = model
        self.count = count

    @classmethod
    def build(cls, declarations: Sequence[Declaration]) -> BM25Index:
        import bm25s

        corpus_tokens = [declaration_bm25_tokens(declaration) or [declaration.name] for declaration in declarations]
        model = bm25s.BM25()
        model.index(corpus_tokens, show_progress=False)  # seconds even for all of Mathlib
        return cls(model, len(declarations))

    def top_k(self, query: str, k: int) -> list[tuple[int, float]]:
        """``(row, score)`` pairs, best first; documents sharing no token with the query are left out."""
        tokens = [token for token in query_bm25_tokens(query) if token in self._model.vocab_dict]
        if not tokens:
            return []
        scores = np.asarray(self._model.get_scores(tokens), dtype=np.float32)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(row), float(scores[row])) for row in top if scores[row] > 0]

    def save(self, directory: Path) -> None:
        self._model.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, *, count: int) -> BM25Index:
        import bm25s

        try:
            model = bm25s.BM25.load(str(directory), show_progress=False)
        except (OSError, ValueError, KeyError) as exc:
            raise RetrievalError(f"cannot read the BM25 index in {directory} ({exc}); rebuild the index") from None
        return cls(model, count)
