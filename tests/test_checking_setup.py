"""Finding the REPL: a project that carries a built REPL needs no AUTOFORMAL_LEAN_REPL, and any failure of
lean-interact to fetch or build one becomes a `LeanNotFoundError` with the fix, never a raw traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoformal.checking import LeanNotFoundError, ReplChecker, ReplCheckerConfig
from autoformal.checking.repl import make_lean_repl_config
from autoformal.testing.standin_repl import install_standin


def test_project_with_a_built_repl_is_used_without_repl_dir(tmp_path: Path) -> None:
    install = install_standin(tmp_path / "proj")
    config = ReplCheckerConfig(project_dir=install.directory, repl_dir=None, lake_path=install.lake, num_workers=1)
    with ReplChecker(config) as checker:
        [ok, bad] = checker.check_sync(
            ["theorem t (n : Nat) : n + 0 = n := sorry", "theorem u (n : Nat) : n + \"a\" = n := sorry"],
            "import Mathlib",
        )
    assert ok.ok and ok.status == "ok"
    assert not bad.ok and bad.status == "error"


def test_repl_fetch_failure_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install = install_standin(tmp_path / "proj")
    bare_project = tmp_path / "bare"
    bare_project.mkdir()
    (bare_project / "lean-toolchain").write_text("leanprover/lean4:v4.0.0\n", encoding="utf-8")

    import lean_interact

    def no_network(*args: object, **kwargs: object) -> object:
        raise RuntimeError("Could not resolve host: github.com")  # what a clone without network reports

    monkeypatch.setattr(lean_interact, "LeanREPLConfig", no_network)
    config = ReplCheckerConfig(project_dir=bare_project, repl_dir=None, lake_path=install.lake)
    with pytest.raises(LeanNotFoundError) as info:
        make_lean_repl_config(config)
    message = str(info.value)
    assert "github.com" in message and "AUTOFORMAL_LEAN_REPL" in message and "lake exe cache get" in message
