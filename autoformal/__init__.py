"""autoformal: informal mathematics and docstrings → ranked Lean 4 theorem statements that elaborate."""

from autoformal._version import __version__
from autoformal.errors import AutoformalError, ConfigurationError, StatementSyntaxError
from autoformal.syntax import (
    Document,
    SafetyVerdict,
    Statement,
    canonical_form,
    check_safe,
    extract_statements,
    parse_document,
    parse_statement,
)

__all__ = [
    "AutoformalError",
    "ConfigurationError",
    "Document",
    "SafetyVerdict",
    "Statement",
    "StatementSyntaxError",
    "__version__",
    "canonical_form",
    "check_safe",
    "extract_statements",
    "parse_document",
    "parse_statement",
]
