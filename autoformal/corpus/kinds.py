"""Which declaration kinds a statement index holds.

A formal *statement* refers to definitions, structures, classes and the like, almost never to theorems: of the
1,400 constants that the miniF2F and ProofNet gold statements use and that resolve in Mathlib, one is a
theorem, while theorems and lemmas are 73% of Mathlib. Indexing them crowds the top hits with lemmas *about*
``Real.log`` instead of ``Real.log`` itself, and costs three quarters of the build time. Proof search wants
them; it can ask for them (``include_theorems``).
"""

from __future__ import annotations

from collections.abc import Iterable

from autoformal.corpus.models import Declaration

#: Kinds that name something a statement can mention (``@[to_additive]`` twins keep their original's kind).
STATEMENT_KINDS: frozenset[str] = frozenset(
    {
        "def",
        "abbrev",
        "structure",
        "class",
        "class abbrev",
        "class inductive",
        "inductive",
        "instance",
        "opaque",
        "irreducible_def",
    }
)
#: Kinds of proved facts: what a proof uses, not what a statement says.
THEOREM_KINDS: frozenset[str] = frozenset({"theorem", "lemma"})


def is_statement_kind(kind: str) -> bool:
    """``def``, ``noncomputable def`` (modifiers are stored apart, but tolerate them), ``class inductive``, ..."""
    return kind in STATEMENT_KINDS or kind.rsplit(" ", 1)[-1] in STATEMENT_KINDS


def select_kinds(declarations: Iterable[Declaration], *, include_theorems: bool) -> list[Declaration]:
    """The declarations a statement index holds; with ``include_theorems`` also theorems and lemmas."""
    return [
        declaration
        for declaration in declarations
        if is_statement_kind(declaration.kind) or (include_theorems and declaration.kind in THEOREM_KINDS)
    ]
