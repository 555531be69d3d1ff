"""Retrieval components that load on first use: the shared sentence encoder (behind a memo of the batch's
input vectors) and the declaration/example retrievers. `autoformal.assembly` builds them; the stages that
need them are handed them, so nothing reaches back to build a model mid-run."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from autoformal.retrieval.config import RetrievalConfig, build_example_retriever, build_retriever

if TYPE_CHECKING:
    from autoformal.corpus.models import Declaration, Example
    from autoformal.retrieval.base import Retriever
    from autoformal.retrieval.embedder import Embedder


class InputVectorMemo:
    """An `Embedder` loaded on first use, remembering the vectors of the texts it was primed with (a batch's
    inputs, which retrieval and back-translation scoring each encode again). Other texts are encoded as usual.

    Pass a ready `embedder`, or `load`, which builds one (called once, on first use)."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        load: Callable[[], Embedder] | None = None,
        max_entries: int = 100_000,
    ) -> None:
        if embedder is None and load is None:
            raise ValueError("InputVectorMemo needs an embedder or a function that loads one")
        self._load = load
        self._embedder = embedder
        self.max_entries = max_entries
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._load_lock:
                if self._embedder is None:
                    assert self._load is not None
                    self._embedder = self._load()
        return self._embedder

    def prime(self, texts: Sequence[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if not missing:
            return
        vectors = self.embedder.encode(missing)
        with self._lock:
            if len(self._vectors) + len(missing) > self.max_entries:
                self._vectors.clear()
            self._vectors.update(zip(missing, vectors, strict=True))

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts; wrap a single text in a list")
        with self._lock:
            known = {i: self._vectors[t] for i, t in enumerate(texts) if t in self._vectors}
        if len(known) == len(texts) and texts:
            return np.stack([known[i] for i in range(len(texts))])
        rest = [i for i in range(len(texts)) if i not in known]
        encoded = self.embedder.encode([texts[i] for i in rest], progress=progress)
        out = np.zeros((len(texts), encoded.shape[1]), dtype=np.float32)
        out[rest] = encoded
        for i, vector in known.items():
            out[i] = vector
        return out

    def __getattr__(self, name: str) -> Any:  # dimension, model_name, config, ... of the wrapped embedder
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.embedder, name)


class LazyRetrievers:
    """The declaration retriever (per `retrieval`: on, off, or auto = when the index exists) and the few-shot
    example retriever (when `examples` > 0), built on first use and shared by every input."""

    def __init__(
        self,
        config: RetrievalConfig,
        *,
        retrieval: Literal["auto", "on", "off"],
        examples: int,
        embedder: Embedder | None,
        retriever: Retriever[Declaration] | None = None,
        example_retriever: Retriever[Example] | None = None,
    ) -> None:
        self.config = config
        self.retrieval = retrieval
        self.examples = examples
        self.embedder = embedder
        self.retriever = retriever
        self.example_retriever = example_retriever
        self._ready = retriever is not None and (example_retriever is not None or examples == 0)
        self._lock = threading.Lock()

    def setup(self) -> None:
        """Load the index and build the retrievers now (idempotent, thread-safe)."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            index_dir = self.config.index_dir
            index_exists = (index_dir / "manifest.json").is_file() or (index_dir.is_dir() and any(index_dir.iterdir()))
            wanted = self.retrieval == "on" or (self.retrieval == "auto" and index_exists)
            if self.retriever is None and wanted:
                self.retriever = build_retriever(self.config, embedder=self.embedder)
            if self.example_retriever is None and self.examples:
                self.example_retriever = build_example_retriever(self.config, embedder=self.embedder)
            self._ready = True

    def search(self, text: str) -> tuple[list[Declaration], list[Example]]:
        """The declarations and few-shot examples to show the model for `text` (blocking: call in a thread)."""
        self.setup()
        declarations = (
            [h.item for h in self.retriever.search(text, self.config.k)] if self.retriever is not None else []
        )
        examples = (
            [h.item for h in self.example_retriever.search(text, self.examples)]
            if self.example_retriever is not None and self.examples
            else []
        )
        return declarations, examples
