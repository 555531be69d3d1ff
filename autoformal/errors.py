"""Exception hierarchy. Every error names the problem *and* the fix, because users meet them in batch
logs far from the code that raised them."""

from __future__ import annotations


class AutoformalError(Exception):
    """Base class for every error autoformal raises on purpose."""


class ConfigurationError(AutoformalError):
    """A setting is missing or inconsistent (message says which setting and how to set it)."""


class InvalidInputError(AutoformalError, ValueError):
    """An input text the pipeline cannot take (empty, not valid Unicode); the message says which."""


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
