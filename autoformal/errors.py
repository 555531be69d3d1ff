"""Exception hierarchy. Every error names the problem *and* the fix, because users meet them in batch
logs far from the code that raised them."""

from __future__ import annotations

from typing import ClassVar


class AutoformalError(Exception):
    """Base class for every error autoformal raises on purpose."""

    #: True: every other input of a batch would fail the same way (no endpoint, no Lean), so a batch stops.
    #: False: the error costs the input it happened on; the batch goes on.
    fatal: ClassVar[bool] = False
    #: For a non-fatal error: True when a later attempt may succeed (timeouts, server errors), so bulk writes
    #: nothing and `--resume` retries the input; False when retrying cannot help, so the error is recorded.
    transient: ClassVar[bool] = True


class ConfigurationError(AutoformalError):
    """A setting is missing or inconsistent (message says which setting and how to set it)."""

    fatal = True


def is_fatal(error: BaseException) -> bool:
    """Whether `error` must stop a whole batch (see `AutoformalError.fatal`)."""
    return isinstance(error, AutoformalError) and error.fatal


class InvalidInputError(AutoformalError, ValueError):
    """An input text the pipeline cannot take (empty, not valid Unicode); the message says which."""

    transient = False


class StatementSyntaxError(AutoformalError, ValueError):
    """A Lean statement does not parse under the statement grammar.

    ``line``/``column`` are 1-based positions in the text that was parsed; ``excerpt`` is the offending
    line with a caret under the column.
    """

    def __init__(self, message: str, *, line: int, column: int, excerpt: str) -> None:
        self.reason = message
        self.line = line
        self.column = column
        self.excerpt = excerpt
        super().__init__(f"{message} at line {line}, column {column}:\n{excerpt}")
