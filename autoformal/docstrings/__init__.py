"""Python docstrings → Lean specification theorems: read source with `ast`, declare the functions as `opaque`
constants with mapped types, formalize each docstring claim, write a `.lean` file and a JSON report."""

from autoformal.docstrings.claims import Claim, split_claims
from autoformal.docstrings.render import RenderedFile, RenderedTheorem, render_lean
from autoformal.docstrings.source import PyFunction, PyParam, SourceError, SourceScan, scan_python
from autoformal.docstrings.spec import (
    ClaimSpec,
    DocstringReport,
    FunctionSpec,
    formalize_docstrings,
    informal_text,
    plan_docstrings,
)
from autoformal.docstrings.types import (
    LeanDeclaration,
    TypeOptions,
    UntypableError,
    declare_function,
    lean_type,
)

__all__ = [
    "Claim",
    "ClaimSpec",
    "DocstringReport",
    "FunctionSpec",
    "LeanDeclaration",
    "PyFunction",
    "PyParam",
    "RenderedFile",
    "RenderedTheorem",
    "SourceError",
    "SourceScan",
    "TypeOptions",
    "UntypableError",
    "declare_function",
    "formalize_docstrings",
    "informal_text",
    "lean_type",
    "plan_docstrings",
    "render_lean",
    "scan_python",
    "split_claims",
]
