"""Errors raised while reading corpora; defined with the whole tree in `autoformal.errors` (this module keeps
the old import location working)."""

from autoformal.errors import CorpusError, CorpusFormatError

__all__ = ["CorpusError", "CorpusFormatError"]
