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
from autoformal.checking.factory import build_checker
from autoformal.checking.header import ALLOWED_OPTIONS, DEFAULT_HEADER, validate_header
from autoformal.checking.kimina import KiminaChecker
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
