"""Where autoformal keeps its on-disk state (the SQLite cache, the compiled grammar, exported encoders, cached
example vectors, crash reports): one root, so `AUTOFORMAL_CACHE_DIR` moves all of it; and the one way files
there (and reports) are written whole."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """`$AUTOFORMAL_CACHE_DIR`, else `~/.cache/autoformal`."""
    configured = os.environ.get("AUTOFORMAL_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "autoformal"


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a private temporary file beside it, renamed into place: a reader (another
    process too) sees the old file or the new one, never half of one, and a kill mid-write leaves the old one.
    Creates the directory; raises OSError, leaving no temporary file behind."""
    import tempfile  # only writers pay for it (start-up time)

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
