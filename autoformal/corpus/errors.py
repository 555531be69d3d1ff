"""Errors raised while reading declaration and example corpora."""

from __future__ import annotations

from autoformal.errors import AutoformalError


class CorpusError(AutoformalError):
    """A corpus file or directory cannot be read as declarations or examples."""


class CorpusFormatError(CorpusError, ValueError):
    """One record of a corpus is malformed; the message names the file, the line and the fix."""
