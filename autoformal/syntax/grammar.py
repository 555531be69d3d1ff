"""Locating and reading `grammars/lean4_statement.lark`."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

GRAMMAR_NAME = "lean4_statement.lark"


def grammar_path() -> Path:
    """The grammar file: packaged copy in an installed wheel, else the repository's `grammars/`."""
    packaged = resources.files("autoformal") / "_grammars" / GRAMMAR_NAME
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "grammars" / GRAMMAR_NAME


@functools.cache
def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")
