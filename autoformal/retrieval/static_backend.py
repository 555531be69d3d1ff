"""Static (model2vec) embeddings distilled offline from a sentence-transformers model.

model2vec's distillation runs the transformer once over its own vocabulary and keeps one (PCA-reduced)
vector per token; encoding a text is then a table look-up and a mean, two orders of magnitude faster than
running MiniLM. Distillation needs only the model directory and its tokenizer (no download): it runs once
per model and is cached under ``cache_dir/static/``, like the ONNX export.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autoformal.errors import ConfigurationError
from autoformal.retrieval.onnx_backend import model_fingerprint

#: Dimensions kept by the PCA step of the distillation (model2vec's default; MiniLM has 384).
STATIC_DIMENSIONS = 256


def _is_static_model(directory: Path) -> bool:
    """A saved model2vec model (a config, an embedding table, a tokenizer; no transformer weights)."""
    return (
        (directory / "model.safetensors").is_file()
        and (directory / "tokenizer.json").is_file()
        and not (directory / "config_sentence_transformers.json").is_file()
    )


def _distill(model_dir: Path, target: Path) -> None:
    try:
        from model2vec.distill import distill
    except ImportError:
        raise ConfigurationError(
            "the static backend distills the encoder with model2vec, which is not installed: "
            "`pip install 'model2vec[distill]'` (or use --backend onnx)"
        ) from None
    staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        distill(model_name=str(model_dir), pca_dims=STATIC_DIMENSIONS).save_pretrained(str(staging))
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


class StaticSentenceEncoder:
    """A model2vec model: token vectors averaged, for a distilled copy of ``model_dir``."""

    def __init__(self, model_dir: Path, *, max_seq_length: int | None, cache_dir: Path) -> None:
        import model2vec
        from model2vec import StaticModel

        if _is_static_model(model_dir):
            location = model_dir
        else:
            location = cache_dir / "static" / f"{model_fingerprint(model_dir)}-{STATIC_DIMENSIONS}"
            if not location.is_dir():
                location.parent.mkdir(parents=True, exist_ok=True)
                _distill(model_dir, location)
        self._model: Any = StaticModel.from_pretrained(str(location), normalize=True, force_download=False)
        self.max_seq_length = max_seq_length
        self.dimension = int(self._model.dim)
        #: What the vectors depend on besides the texts: the distilled table (a re-distillation differs) and
        #: the model2vec version that averages it.
        self.identity = (
            f"static model2vec {model2vec.__version__}; table {model_fingerprint(location)}; "
            f"max_seq_length {max_seq_length}"
        )

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(
            list(texts), max_length=self.max_seq_length, use_multiprocessing=False, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)
