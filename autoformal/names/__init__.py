"""Static name checking: which constants a statement references that its Lean environment lacks, found
without Lean from a Mathlib declaration corpus (`NameTable`) and Lean's name-resolution rules
(`NameChecker`)."""

from autoformal.names.checker import NameChecker, NameCheckResult, UnknownName
from autoformal.names.table import NameKind, NamesFileInfo, NameTable, read_names_info

__all__ = [
    "NameCheckResult",
    "NameChecker",
    "NameKind",
    "NameTable",
    "NamesFileInfo",
    "UnknownName",
    "read_names_info",
]
