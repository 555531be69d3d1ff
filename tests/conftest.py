from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    return Path(os.environ.get("AUTOFORMAL_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or ``$AUTOFORMAL_SHARED_DIR/data``); skips the test when it is absent."""
    path = _shared_dir() / "data"
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path} (set AUTOFORMAL_SHARED_DIR)")
    return path


@pytest.fixture(scope="session")
def shared_lean() -> Path:
    """``../shared/lean`` with the real REPL transcripts; skips when absent."""
    path = _shared_dir() / "lean"
    if not path.is_dir():
        pytest.skip(f"shared Lean transcripts not found at {path} (set AUTOFORMAL_SHARED_DIR)")
    return path
