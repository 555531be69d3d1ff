"""Lean elaboration: the filter that makes a candidate statement count. See `LeanChecker`.

Importing this package is cheap: its names load their modules on first use, so a configuration or a run
without Lean (`--no-lean`) does not import the Kimina client's HTTP library or the REPL pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoformal._lazy import lazy_exports

if TYPE_CHECKING:
    from autoformal.checking.config import KiminaCheckerConfig, ReplCheckerConfig, find_lake
    from autoformal.checking.errors import (
        HeaderElaborationError,
        KiminaServerError,
        LeanNotFoundError,
        LeanWorkerError,
        UnsafeHeaderError,
    )
    from autoformal.checking.factory import build_checker
    from autoformal.checking.header import ALLOWED_OPTIONS, DEFAULT_HEADER, validate_header
    from autoformal.checking.kimina import KiminaChecker
    from autoformal.checking.models import CheckResult, CheckStatus, LeanMessage, LeanSorry
    from autoformal.checking.protocol import BaseChecker, LeanChecker
    from autoformal.checking.repl import ReplChecker

# Name → defining module, imported on first access.
_ORIGINS = {
    "KiminaCheckerConfig": "autoformal.checking.config",
    "ReplCheckerConfig": "autoformal.checking.config",
    "find_lake": "autoformal.checking.config",
    "HeaderElaborationError": "autoformal.checking.errors",
    "KiminaServerError": "autoformal.checking.errors",
    "LeanNotFoundError": "autoformal.checking.errors",
    "LeanWorkerError": "autoformal.checking.errors",
    "UnsafeHeaderError": "autoformal.checking.errors",
    "build_checker": "autoformal.checking.factory",
    "ALLOWED_OPTIONS": "autoformal.checking.header",
    "DEFAULT_HEADER": "autoformal.checking.header",
    "validate_header": "autoformal.checking.header",
    "KiminaChecker": "autoformal.checking.kimina",
    "CheckResult": "autoformal.checking.models",
    "CheckStatus": "autoformal.checking.models",
    "LeanMessage": "autoformal.checking.models",
    "LeanSorry": "autoformal.checking.models",
    "BaseChecker": "autoformal.checking.protocol",
    "LeanChecker": "autoformal.checking.protocol",
    "ReplChecker": "autoformal.checking.repl",
}
__getattr__ = lazy_exports(__name__, _ORIGINS)

__all__ = [
    "ALLOWED_OPTIONS",
    "DEFAULT_HEADER",
    "BaseChecker",
    "CheckResult",
    "CheckStatus",
    "HeaderElaborationError",
    "KiminaChecker",
    "KiminaCheckerConfig",
    "KiminaServerError",
    "LeanChecker",
    "LeanMessage",
    "LeanNotFoundError",
    "LeanSorry",
    "LeanWorkerError",
    "ReplChecker",
    "ReplCheckerConfig",
    "UnsafeHeaderError",
    "build_checker",
    "find_lake",
    "validate_header",
]
