"""Helpers shared by the benchmark scripts: where ../shared is, and machine-load context for honest figures."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """``$AUTOFORMAL_SHARED_DIR`` or ``<repo>/../shared``; exits with a clear message when absent."""
    path = Path(os.environ.get("AUTOFORMAL_SHARED_DIR", REPO_ROOT.parent / "shared"))
    if not (path / "data").is_dir():
        sys.exit(f"shared data not found at {path}/data (set AUTOFORMAL_SHARED_DIR)")
    return path


def load_average() -> float:
    """1-minute load average: figures measured on a busy machine say so."""
    return round(os.getloadavg()[0], 2)
