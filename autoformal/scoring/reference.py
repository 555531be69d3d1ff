"""Reference-based scoring: how close a candidate is to a *reference* (gold) formalization of the same
problem. Only usable where a reference exists (benchmarks, labelled data), so it is never part of the
default pipeline, and `autoformal eval` reports it separately from the reference-free scorers.

Both statements are canonicalised (binder names, notation variants, `>`/`<` flips, binder vs `∀` style
removed), then compared as multisets of tree features (node labels and parent→child label pairs, bound
variables anonymised), by the Mathlib names they use, and by their constants, relations and hypothesis
structure. Equal canonical forms score 1. The mix was designed on the fit half of the labelled data only.
"""

from __future__ import annotations

import re
from collections import Counter

from autoformal.scoring.base import Score
from autoformal.scoring.features import formal_facts
from autoformal.syntax import Term, canonical_form, parse_document

_CANONICAL_VARIABLE = re.compile(r"^x[₀-₉]+$")
# Node kinds whose `value` is part of what they say (operators, names, literals, quantifier symbols).
_VALUED = frozenset({"ident", "num", "binop", "unop", "quant", "bigop", "postfix", "dot_ident", "str", "proj"})


def _label(term: Term) -> str:
    if term.kind == "ident" and _CANONICAL_VARIABLE.match(term.value):
        return "ident:_"
    return f"{term.kind}:{term.value}" if term.kind in _VALUED else term.kind


def tree_features(term: Term) -> Counter[str]:
    """Labels of every node and of every parent→child edge (binder types count as children)."""
    features: Counter[str] = Counter()
    for node in term.walk():
        parent = _label(node)
        features[parent] += 1
        children = [*node.args, *(b.type for b in node.binders if b.type is not None)]
        for child in children:
            features[f"{parent}>{_label(child)}"] += 1
    return features


def _canonical_tree(statement: str) -> tuple[str, Term | None]:
    canonical = canonical_form(statement)
    theorem = parse_document(canonical).theorem
    return canonical, theorem.conclusion


def canonical_features(canonical: str) -> Counter[str]:
    """Tree features of a canonical form (as `canonical_form` returns it); empty if it has no conclusion."""
    conclusion = parse_document(canonical).theorem.conclusion
    return tree_features(conclusion) if conclusion is not None else Counter()


def feature_similarity(a: Counter[str], b: Counter[str]) -> float:
    """Dice coefficient of two feature multisets (1.0 for two empty ones)."""
    total = sum(a.values()) + sum(b.values())
    return 2 * sum((a & b).values()) / total if total else 1.0


def reference_score(candidate: str, reference: str) -> Score:
    """Agreement with the reference: 1.0 for equal canonical forms, else a mean of tree-feature Dice
    similarity (double weight), Jaccard similarity of the Mathlib names used, and whether the numeric
    constants, the relations and the hypothesis/quantifier structure are the same."""
    try:
        canonical_candidate, candidate_tree = _canonical_tree(candidate)
        candidate_facts = formal_facts(parse_document(candidate))
    except Exception:  # StatementSyntaxError, or a grammar bug: either way nothing to compare
        return Score(value=0.0, explanation="the candidate does not parse")
    try:
        canonical_reference, reference_tree = _canonical_tree(reference)
        reference_facts = formal_facts(parse_document(reference))
    except Exception:  # as above
        return Score(value=0.5, explanation="the reference does not parse; nothing compared")
    if canonical_candidate == canonical_reference:
        return Score(value=1.0, explanation="same canonical form as the reference")
    a = tree_features(candidate_tree) if candidate_tree is not None else Counter()
    b = tree_features(reference_tree) if reference_tree is not None else Counter()
    names_a = {f[6:] for f in a if f.startswith("ident:") and ">" not in f and f != "ident:_"}
    names_b = {f[6:] for f in b if f.startswith("ident:") and ">" not in f and f != "ident:_"}
    tree = feature_similarity(a, b)
    names = len(names_a & names_b) / len(names_a | names_b) if names_a | names_b else 1.0
    same_numbers = candidate_facts.numbers == reference_facts.numbers
    same_relations = candidate_facts.relations == reference_facts.relations
    same_shape = (candidate_facts.hypotheses, candidate_facts.exists, candidate_facts.unique) == (
        reference_facts.hypotheses,
        reference_facts.exists,
        reference_facts.unique,
    )
    value = (2 * tree + names + same_numbers + same_relations + same_shape) / 6
    notes = [f"tree similarity {tree:.2f}", f"shared names {names:.2f}"]
    if names_a - names_b:
        notes.append("names only in the candidate: " + ", ".join(sorted(names_a - names_b)[:5]))
    if names_b - names_a:
        notes.append("names only in the reference: " + ", ".join(sorted(names_b - names_a)[:5]))
    for same, what in ((same_numbers, "constants"), (same_relations, "relations"), (same_shape, "hypotheses/∃")):
        if not same:
            notes.append(f"{what} differ")
    # Strictly below the exact-match score, whatever the overlap.
    return Score(value=min(value, 0.99), explanation="; ".join(notes))
