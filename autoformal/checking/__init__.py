"""Lean elaboration: the filter that makes a candidate statement count. See `LeanChecker`."""

from __future__ import annotations

from autoformal.checking.config import KiminaCheckerConfig, ReplCheckerConfig, find_lake
from autoformal.checking.errors import (
    HeaderElaborationError,
    KiminaServerError,
    LeanNotFoundError,
    LeanWorkerError,
    UnsafeHeaderError,
)
from autoformal.checking.header import ALLOWED_OPTIONS, DEFAULT_HEADER, validate_header
from autoformal.checking.models import CheckResult, CheckStatus, LeanMessage, LeanSorry
from autoformal.checking.protocol import BaseChecker, LeanChecker
from autoformal.checking.repl import ReplChecker

__all__ = [
    "ALLOWED_OPTIONS",
    "DEFAULT_HEADER",
    "BaseChecker",
    "CheckResult",
    "CheckStatus",
    "HeaderElaborationError",
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
    "find_lake",
    "validate_header",
]
