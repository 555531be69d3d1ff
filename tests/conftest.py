from __future__ import annotations

import os
from pathlib import Path

import pytest

from autoformal.checking import ReplCheckerConfig, find_lake

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


@pytest.fixture(scope="session")
def real_lean() -> ReplCheckerConfig:
    """A checker config for real Lean: `lake` found (PATH or ~/.elan/bin) and AUTOFORMAL_LEAN_PROJECT set (e.g.
    `eval "$(../shared/lean/install-core-lean)"`); skips with the reason otherwise."""
    lake = find_lake()
    if lake is None:
        pytest.skip("no real Lean: `lake` is neither on PATH nor in ~/.elan/bin (install elan)")
    project = os.environ.get("AUTOFORMAL_LEAN_PROJECT")
    if not project:
        pytest.skip("no real Lean project: set AUTOFORMAL_LEAN_PROJECT (e.g. `lake new myproj math`)")
    return ReplCheckerConfig(project_dir=Path(project), lake_path=lake, num_workers=1, timeout_s=300)
