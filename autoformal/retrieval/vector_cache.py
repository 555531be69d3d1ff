"""Vectors of fixed texts (the few-shot examples) cached on disk, so a one-shot command does not encode the
shipped examples again on every start (0.85 s of CPU for the 42 of them with the ONNX encoder, 2 cores).

One file holds the vectors of one list of texts under one encoder, in the encoder's cache directory under
``vectors/``. Its name is a digest of the encoder's `Embedder.identity` (model files, runtime versions,
precision, token limit, batching), of this module's format and of the texts; its header repeats the whole
key and a digest of the vectors. A file for other texts or another encoder is never looked at, and a
truncated, corrupt or foreign one is recomputed and replaced, never trusted: what a lookup returns is
bit for bit what `Embedder.encode` returns. Files are written atomically; a cache directory that cannot be
written costs only the encoding. An encoder without an identity (the torch backend) is not cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from autoformal._paths import write_atomically
from autoformal._version import __version__

if TYPE_CHECKING:
    from autoformal.retrieval.embedder import Embedder

logger = logging.getLogger(__name__)

#: First line of every file; bump the number when what `Embedder.encode` computes changes in a way its
#: `identity` does not show (pooling, normalisation), so files of the old computation are not read.
MAGIC = b"autoformal-vectors 1"
_DTYPE = np.dtype("<f4")


def vector_file(cache_dir: Path, key: str) -> Path:
    return cache_dir / "vectors" / f"{key[:32]}.vec"


def cache_key(identity: str, texts: Sequence[str]) -> str:
    """The digest that names and guards one list's vectors under one encoder."""
    digest = hashlib.sha256(MAGIC + b"\n" + f"autoformal {__version__}; {identity}".encode())
    digest.update(json.dumps(list(texts), ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def encode_cached(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """`embedder.encode(texts)`, read from the cache when a valid file for exactly these texts and this encoder
    is there, else computed and saved."""
    identity = getattr(embedder, "identity", None)  # stand-in encoders (tests) have none: plain encode
    if not isinstance(identity, str) or not texts:
        return embedder.encode(texts)
    key = cache_key(identity, texts)
    path = vector_file(Path(embedder.cache_dir), key)
    vectors = _read(path, key, len(texts), embedder.dimension)
    if vectors is None:
        vectors = embedder.encode(texts)
        _write(path, key, vectors)
    return vectors


def _read(path: Path, key: str, rows: int, dimension: int) -> np.ndarray | None:
    """The cached vectors, or None when the file is missing, for another key, or damaged in any way."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    magic, _, rest = data.partition(b"\n")
    header_line, _, payload = rest.partition(b"\n")
    try:
        header = json.loads(header_line)
    except ValueError:
        header = None
    expected = {"key": key, "rows": rows, "dimension": dimension, "sha256": hashlib.sha256(payload).hexdigest()}
    if magic != MAGIC or header != expected or len(payload) != rows * dimension * _DTYPE.itemsize:
        if path.exists():
            logger.debug("%s is stale or damaged; encoding again", path)
        return None
    return np.frombuffer(payload, dtype=_DTYPE).reshape(rows, dimension).astype(np.float32)


def _write(path: Path, key: str, vectors: np.ndarray) -> None:
    payload = np.ascontiguousarray(vectors, dtype=_DTYPE).tobytes()
    rows, dimension = vectors.shape
    header = {"key": key, "rows": rows, "dimension": dimension, "sha256": hashlib.sha256(payload).hexdigest()}
    with contextlib.suppress(OSError):  # read-only or full disk: the next start encodes again
        write_atomically(path, MAGIC + b"\n" + json.dumps(header).encode("ascii") + b"\n" + payload)
