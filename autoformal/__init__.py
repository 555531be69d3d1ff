"""autoformal: informal mathematics and docstrings → ranked Lean 4 theorem statements that elaborate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoformal._lazy import lazy_exports
from autoformal._version import __version__
from autoformal.errors import AutoformalError, ConfigurationError, InvalidInputError, StatementSyntaxError

if TYPE_CHECKING:
    from autoformal.checking.equivalence import Equivalence, equivalent
    from autoformal.checking.probes import ProbeReport, probe
    from autoformal.config import FormalizerConfig
    from autoformal.pipeline import Formalizer
    from autoformal.results import FormalizationResult, RankedCandidate
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

# Everything but the errors is loaded on first use: the statement syntax pulls in pydantic and lark, the
# pipeline the LLM client, scorers and numpy. `import autoformal` (which every CLI command pays before
# printing anything) stays cheap.
_LAZY = {
    "Document": "autoformal.syntax",
    "SafetyVerdict": "autoformal.syntax",
    "Statement": "autoformal.syntax",
    "canonical_form": "autoformal.syntax",
    "check_safe": "autoformal.syntax",
    "extract_statements": "autoformal.syntax",
    "parse_document": "autoformal.syntax",
    "parse_statement": "autoformal.syntax",
    "Formalizer": "autoformal.pipeline",
    "FormalizerConfig": "autoformal.config",
    "FormalizationResult": "autoformal.results",
    "RankedCandidate": "autoformal.results",
    "Equivalence": "autoformal.checking.equivalence",
    "ProbeReport": "autoformal.checking.probes",
    "equivalent": "autoformal.checking.equivalence",
    "probe": "autoformal.checking.probes",
}
__getattr__ = lazy_exports(__name__, _LAZY)


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
