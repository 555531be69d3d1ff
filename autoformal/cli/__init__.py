"""The ``autoformal`` command line. Each command group lives in its own module and registers on ``app``;
heavy dependencies (torch, faiss, lean-interact) are imported inside the commands so ``--version`` and
``--help`` stay instant."""

from __future__ import annotations

from autoformal.cli import bulk as _bulk  # noqa: F401  (registers commands)
from autoformal.cli import check as _check  # noqa: F401  (registers commands)
from autoformal.cli import docstrings as _docstrings  # noqa: F401  (registers commands)
from autoformal.cli import equiv as _equiv  # noqa: F401  (registers commands)
from autoformal.cli import evaluate as _evaluate  # noqa: F401  (registers commands)
from autoformal.cli import export as _export  # noqa: F401  (registers commands)
from autoformal.cli import formalize as _formalize  # noqa: F401  (registers commands)
from autoformal.cli import index as _index  # noqa: F401  (registers commands)
from autoformal.cli import llm as _llm  # noqa: F401  (registers commands)
from autoformal.cli import mcp as _mcp  # noqa: F401  (registers commands)
from autoformal.cli import parse as _parse  # noqa: F401  (registers commands)
from autoformal.cli import review as _review  # noqa: F401  (registers commands)
from autoformal.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
