from __future__ import annotations

import os
from pathlib import Path

import pytest

from autoformal.checking import ReplCheckerConfig, find_lake
from autoformal.testing.standin_repl import StandinInstall, install_standin

REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """An index the developer built at the default place (`retrieval_index/mathlib` under the working directory,
    the README's main job) must not change what the tests see: retrieval, few-shot examples and the static
    name check would switch on. The default index directory points at nothing for the whole session (and the
    CLI subprocesses it starts); a test that wants an index passes its own."""
    os.environ.setdefault("AUTOFORMAL_RETRIEVAL_CONFIG__INDEX_DIR", str(REPO_ROOT / "tests" / ".no-index-here"))


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


@pytest.fixture
def lean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandinInstall:
    """The stand-in REPL found the way a user's Lean is found: AUTOFORMAL_LEAN_PROJECT / AUTOFORMAL_LEAN_REPL
    and `lake` on PATH (for end-to-end CLI tests)."""
    install = install_standin(tmp_path / "proj", log_path=tmp_path / "log.jsonl")
    monkeypatch.setenv("AUTOFORMAL_LEAN_PROJECT", str(install.directory))
    monkeypatch.setenv("AUTOFORMAL_LEAN_REPL", str(install.directory))
    monkeypatch.setenv("PATH", f"{install.directory}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("AUTOFORMAL_KIMINA_URL", raising=False)
    return install
