"""Module-level lazy exports (PEP 562), so importing a package does not import everything it re-exports."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, origins: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``origins[name]`` (a module path) when ``name`` is first used."""

    def __getattr__(name: str) -> Any:
        if name in origins:
            return getattr(importlib.import_module(origins[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
