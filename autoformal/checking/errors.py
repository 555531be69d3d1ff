"""Errors of the Lean checking stage; defined with the whole tree in `autoformal.errors` (this module keeps the
old import location working)."""

from autoformal.errors import (
    HeaderElaborationError,
    KiminaServerError,
    LeanNotFoundError,
    LeanWorkerError,
    UnsafeHeaderError,
)

__all__ = ["HeaderElaborationError", "KiminaServerError", "LeanNotFoundError", "LeanWorkerError", "UnsafeHeaderError"]
