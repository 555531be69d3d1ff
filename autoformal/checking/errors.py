"""Errors of the Lean checking stage. Each names the problem and the fix."""

from __future__ import annotations

from autoformal.errors import AutoformalError, ConfigurationError


class LeanNotFoundError(ConfigurationError):
    """No Lean toolchain / project was found to check statements with."""


class UnsafeHeaderError(AutoformalError, ValueError):
    """A header line is not an `import`, `open`, `universe` or allow-listed `set_option`."""


class HeaderElaborationError(AutoformalError):
    """Lean reported errors while elaborating the header, so no statement under it can be checked."""


class LeanWorkerError(AutoformalError):
    """A REPL worker could not be (re)started within its restart budget."""


class KiminaServerError(AutoformalError):
    """The Kimina Lean Server could not be reached or answered outside its protocol."""
