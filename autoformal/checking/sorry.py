"""The one place where a statement's proof is put in the form every Lean 4 accepts before it is sent.

The safety gate lets through a theorem whose proof is `sorry` or `by sorry`. Core Lean 4 has no `sorry`
tactic (the 2021 core build answers `:= by sorry` with a parse error), while the term `:= sorry` elaborates on
every Lean 4, old or new, with or without Mathlib. So every checker sends the term form.
"""

from __future__ import annotations

import re

from autoformal.syntax.lexing import blank_comments

# `:= by sorry` closing the text, whitespace and comments allowed between the tokens (matched on the text with
# comments blanked, which keeps every offset).
_TACTIC_SORRY = re.compile(r":=\s*(?P<by>by)\s+sorry\s*\Z")


def with_term_sorry(statement: str) -> str:
    """`statement` with a closing `by sorry` proof turned into the term `sorry`. Only the word `by` is replaced,
    by two spaces, so every line and column Lean reports stays that of the original text. Any other text is
    returned unchanged."""
    match = _TACTIC_SORRY.search(blank_comments(statement))
    if match is None:
        return statement
    return statement[: match.start("by")] + "  " + statement[match.end("by") :]
