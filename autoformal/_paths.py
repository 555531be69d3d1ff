"""Where autoformal keeps its on-disk state (the SQLite cache, the compiled grammar, exported encoders, crash
reports): one root, so `AUTOFORMAL_CACHE_DIR` moves all of it."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """`$AUTOFORMAL_CACHE_DIR`, else `~/.cache/autoformal`."""
    configured = os.environ.get("AUTOFORMAL_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "autoformal"
