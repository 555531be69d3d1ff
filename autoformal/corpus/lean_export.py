"""Run the shipped ``ExportDecls.lean`` in a user's Lake project: the accurate corpus, for users with Lean.

The exported JSONL has elaborated, pretty-printed types and every generated declaration (``@[to_additive]``
twins included), and loads with `autoformal.corpus.load_declarations` like ``decls.jsonl.gz``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from autoformal.corpus.errors import CorpusError
from autoformal.errors import ConfigurationError

EXPORT_PROGRAM = "ExportDecls.lean"


def export_program_path() -> Path:
    """The shipped Lean program (inside the installed package)."""
    return Path(str(resources.files("autoformal.corpus") / "lean" / EXPORT_PROGRAM))


def export_declarations(
    project: str | Path,
    out: str | Path,
    *,
    modules: Sequence[str] = ("Mathlib",),
    timeout: float = 3 * 3600,
) -> Path:
    """Export the constants of ``modules`` as seen from Lake project ``project`` into JSONL file ``out``.

    Runs ``lake env lean --run ExportDecls.lean MODULES`` in ``project``; the file is written to a temporary
    name first and renamed when the export succeeded.
    """
    lake = shutil.which("lake")
    if lake is None:
        raise ConfigurationError(
            "`lake` is not on PATH: install Lean 4 with elan (https://lean-lang.org), or build the corpus "
            "without Lean from a JSONL file or a Mathlib source tree"
        )
    root = Path(project)
    if not (root / "lakefile.lean").is_file() and not (root / "lakefile.toml").is_file():
        raise ConfigurationError(f"{root} is not a Lake project (no lakefile); pass the project that imports Mathlib")
    target = Path(out)
    partial = target.with_name(target.name + ".partial")
    command = [lake, "env", "lean", "--run", str(export_program_path()), *modules]
    try:
        with partial.open("wb") as sink:
            completed = subprocess.run(
                command, cwd=root, stdout=sink, stderr=subprocess.PIPE, timeout=timeout, check=False
            )
    except subprocess.TimeoutExpired:
        partial.unlink(missing_ok=True)
        raise CorpusError(f"ExportDecls did not finish within {timeout:.0f}s; raise the timeout") from None
    if completed.returncode != 0:
        partial.unlink(missing_ok=True)
        tail = completed.stderr.decode("utf-8", "replace")[-2000:]
        raise CorpusError(
            f"`{' '.join(command)}` failed with exit code {completed.returncode}; run `lake build` in "
            f"{root} first. Lean said:\n{tail}"
        )
    partial.replace(target)
    return target
