"""Reading Lean 4 statements without Lean: parse, extract from model output, canonicalise, guard."""

from autoformal.syntax.canonical import canonical_form
from autoformal.syntax.extract import extract_documents, extract_statements
from autoformal.syntax.model import Binder, Command, Document, Statement, parse_document, parse_statement
from autoformal.syntax.printer import pretty
from autoformal.syntax.safety import SafetyVerdict, check_safe
from autoformal.syntax.terms import Bound, Term

__all__ = [
    "Binder",
    "Bound",
    "Command",
    "Document",
    "SafetyVerdict",
    "Statement",
    "Term",
    "canonical_form",
    "check_safe",
    "extract_documents",
    "extract_statements",
    "parse_document",
    "parse_statement",
    "pretty",
]
