"""autoformal: informal mathematics and docstrings → ranked Lean 4 theorem statements that elaborate."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from autoformal._version import __version__
from autoformal.errors import AutoformalError, ConfigurationError, InvalidInputError, StatementSyntaxError
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

if TYPE_CHECKING:
    from autoformal.checking.equivalence import Equivalence, equivalent
    from autoformal.checking.probes import ProbeReport, probe
    from autoformal.config import FormalizerConfig
    from autoformal.pipeline import Formalizer
    from autoformal.results import FormalizationResult, RankedCandidate

# The pipeline pulls in the LLM client, scorers and numpy: loaded on first use, so that `import autoformal`
# stays cheap for users who only parse statements.
_LAZY = {
    "Formalizer": "autoformal.pipeline",
    "FormalizerConfig": "autoformal.config",
    "FormalizationResult": "autoformal.results",
    "RankedCandidate": "autoformal.results",
    "Equivalence": "autoformal.checking.equivalence",
    "ProbeReport": "autoformal.checking.probes",
    "equivalent": "autoformal.checking.equivalence",
    "probe": "autoformal.checking.probes",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'autoformal' has no attribute {name!r}")


__all__ = [
    "AutoformalError",
    "ConfigurationError",
    "Document",
    "Equivalence",
    "FormalizationResult",
    "Formalizer",
    "FormalizerConfig",
    "InvalidInputError",
    "ProbeReport",
    "RankedCandidate",
    "SafetyVerdict",
    "Statement",
    "StatementSyntaxError",
    "__version__",
    "canonical_form",
    "check_safe",
    "equivalent",
    "extract_statements",
    "parse_document",
    "parse_statement",
    "probe",
]
