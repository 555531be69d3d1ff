"""Deterministic consistency checks between the informal text and a candidate: no model, explainable.

Each `Check` compares `InformalFacts` with `FormalFacts` and returns a `Score` whose explanation names what
disagrees. `ConsistencyScorer` runs several checks and combines them; every check is also a `Scorer` of its
own (`CheckScorer`) so `autoformal eval` can measure each one.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Protocol

from autoformal.scoring.base import Score, ScoringCandidate
from autoformal.scoring.features import FormalFacts, InformalFacts, formal_facts, informal_facts

# Constants a faithful statement often adds without the text writing them (`0 < x` for "positive",
# `x ^ 2` for "square", `n + 1`), so their presence in the candidate alone is no evidence of anything.
_STRUCTURAL = frozenset({Fraction(0), Fraction(1), Fraction(2)})
_UNREADABLE = Score(
    value=0.0, explanation="the statement does not parse (malformed or outside the grammar): nothing to compare"
)


def _fmt(values: set[Fraction] | frozenset[Fraction]) -> str:
    return ", ".join(str(v) for v in sorted(values))


class Check(Protocol):
    name: str

    def check(self, text: InformalFacts, formal: FormalFacts) -> Score: ...


class NumbersCheck:
    """Numeric constants of the text appear in the candidate and the candidate adds none of its own
    (1/2, 0.5, ½ and `(1:ℝ)/2` are the same number)."""

    name = "numbers"

    def check(self, text: InformalFacts, formal: FormalFacts) -> Score:
        wanted = set(text.numbers) - _STRUCTURAL
        present = set(formal.numbers)
        missing = wanted - present
        extra = present - set(text.numbers) - _STRUCTURAL
        if not wanted and not extra:
            return Score(value=1.0, explanation="no distinctive constants on either side")
        value = 1.0
        notes = []
        if wanted:
            value -= 0.6 * len(missing) / len(wanted)
        if missing:
            notes.append(f"constants of the text missing from the candidate: {_fmt(missing)}")
        if extra:
            value -= 0.4 * min(1.0, len(extra) / max(len(present - _STRUCTURAL), 1))
            notes.append(f"constants not in the text: {_fmt(extra)}")
        return Score(value=max(value, 0.0), explanation="; ".join(notes) or f"all constants match ({_fmt(wanted)})")


class RelationsCheck:
    """Relations the text states (≤ vs <, ≠, ∣) appear in the candidate, strictness included."""

    name = "relations"

    def check(self, text: InformalFacts, formal: FormalFacts) -> Score:
        have = set(formal.relations)
        notes = []
        value = 1.0
        if "<" in text.relations and "≤" not in text.relations and "<" not in have and "≤" in have:
            value -= 0.5
            notes.append("the text states a strict inequality, the candidate only a non-strict one")
        if "≤" in text.relations and "<" not in text.relations and "≤" not in have and "<" in have:
            value -= 0.5
            notes.append("the text states a non-strict inequality, the candidate only a strict one")
        for relation in ("≠", "∣"):
            if relation in text.relations and relation not in have and not (relation == "∣" and "≡" in have):
                value -= 0.25
                notes.append(f"the text uses {relation}, the candidate does not")
        if ("<" in text.relations or "≤" in text.relations) and not ({"<", "≤"} & have):
            value -= 0.25
            notes.append("the text compares sizes, the candidate has no inequality")
        # "if and only if" is the most common direction error: one implication stated, the converse dropped.
        if text.mentions_iff and "↔" not in have:
            value -= 0.5
            notes.append("the text states an equivalence (iff), the candidate has no ↔")
        elif "↔" in have and not (text.mentions_iff or text.asks_for_all):
            value -= 0.25
            notes.append("the candidate states an equivalence (↔), the text only one direction")
        return Score(value=max(value, 0.0), explanation="; ".join(notes) or "relations agree")


class QuantifiersCheck:
    """Existential/unique/infinitude claims of the text match the candidate's quantifiers."""

    name = "quantifiers"

    def check(self, text: InformalFacts, formal: FormalFacts) -> Score:
        notes = []
        value = 1.0
        if text.mentions_unique and not formal.unique:
            value -= 0.3
            notes.append("the text claims uniqueness, the candidate has no ∃!")
        if text.mentions_exists and not (formal.exists or formal.unique or formal.mentions_infinite):
            value -= 0.3
            notes.append("the text claims existence, the candidate has no ∃")
        if formal.claims_exists and not (text.mentions_exists or text.mentions_unique or text.mentions_infinite):
            value -= 0.3
            notes.append("the candidate has ∃ but the text claims no existence")
        if text.mentions_infinite and not (formal.mentions_infinite or (formal.forall and formal.exists)):
            value -= 0.3
            notes.append("the text says infinitely many, the candidate states no infinitude")
        return Score(value=max(value, 0.0), explanation="; ".join(notes) or "quantifiers agree")


class DomainsCheck:
    """Number systems named in the text (integers, reals, ...) are the candidate's types, and the candidate
    uses no distinctive number system the text does not name."""

    name = "domains"

    def check(self, text: InformalFacts, formal: FormalFacts) -> Score:
        notes = []
        value = 1.0
        for domain in sorted(text.domains):
            # ℤ for "positive integers" is fine; ℕ for "integers" (possibly negative) is a classic error.
            ok = domain in formal.domains or (domain == "ℕ" and "ℤ" in formal.domains)
            if not ok:
                value -= 0.3
                notes.append(f"the text is about {domain}, the candidate does not use it")
        for domain in ("ℚ", "ℂ"):
            if domain in formal.domains and domain not in text.domains:
                value -= 0.2
                notes.append(f"the candidate uses {domain}, the text never names it")
        return Score(value=max(value, 0.0), explanation="; ".join(notes) or "number domains agree")


class PitfallsCheck:
    """Lean-specific ways to state something else than the text, each of which Lean accepts without complaint:
    junk values (a supremum of reals with no boundedness assumption is 0 for an unbounded set; `/` on ℕ/ℤ
    truncates) and a limit at a point taken over the full neighbourhood `𝓝 x` instead of `𝓝[≠] x`."""

    name = "pitfalls"

    def check(self, text: InformalFacts, formal: FormalFacts) -> Score:
        notes = []
        if formal.unbounded_supremum:
            notes.append("a supremum/infimum of reals with no boundedness hypothesis (junk value 0 if unbounded)")
        if formal.integer_division and not text.mentions_floor:
            notes.append("`/` on ℕ/ℤ truncates, the text does not ask for integer division")
        if formal.full_nhds_limit and text.point_limit:
            notes.append("the text's limit excludes the point, `𝓝 x` does not (use `𝓝[≠] x`)")
        if not notes:
            return Score(value=1.0, explanation="no Lean pitfall found")
        return Score(value=max(1.0 - 0.5 * len(notes), 0.0), explanation="; ".join(notes))


class AnswerCheck:
    """In "show that it is X" problems the candidate must state the answer X: as a side of a relation
    (`… = X`, `x ∈ {X}`) or as the value of an answer definition in the preamble."""

    name = "answer"

    def check(self, text: InformalFacts, formal: FormalFacts) -> Score:
        if text.answer is None:
            return Score(value=1.0, explanation="the text asks for no value")
        if not text.answer_numbers:
            return Score(value=1.0, explanation=f"asked-for answer {text.answer!r} has no number to compare")
        missing = set(text.answer_numbers) - set(formal.answer_slots)
        if missing:
            return Score(value=0.0, explanation=f"the asked-for answer {text.answer!r} is not in the candidate")
        return Score(value=1.0, explanation=f"the candidate states the asked-for answer {text.answer!r}")


DEFAULT_CHECKS: tuple[Check, ...] = (
    NumbersCheck(),
    RelationsCheck(),
    QuantifiersCheck(),
    DomainsCheck(),
    AnswerCheck(),
    PitfallsCheck(),
)


def _run(check: Check, text: InformalFacts, candidate: ScoringCandidate) -> Score:
    if candidate.document is None:
        return _UNREADABLE
    return check.check(text, formal_facts(candidate.document))


class CheckScorer:
    """One `Check` as a `Scorer` (named after the check)."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.name = check.name

    async def score(self, informal: str, candidates: Sequence[ScoringCandidate]) -> list[Score]:
        text = informal_facts(informal)
        return [_run(self.check, text, candidate) for candidate in candidates]


class ConsistencyScorer:
    """All deterministic checks at once; the score is the mean of the checks' scores (each check already
    scales its penalty by how strong the evidence is), the explanation lists every disagreement."""

    name = "consistency"

    def __init__(self, checks: Sequence[Check] = DEFAULT_CHECKS) -> None:
        self.checks = tuple(checks)

    def score_with_parts(self, informal: str, candidate: ScoringCandidate) -> dict[str, Score]:
        """Every check's score, keyed by check name (what `autoformal eval` reports separately)."""
        text = informal_facts(informal)
        if candidate.document is None:
            return {check.name: _UNREADABLE for check in self.checks}
        facts = formal_facts(candidate.document)
        return {check.name: check.check(text, facts) for check in self.checks}

    async def score(self, informal: str, candidates: Sequence[ScoringCandidate]) -> list[Score]:
        out = []
        for candidate in candidates:
            parts = self.score_with_parts(informal, candidate)
            value = sum(s.value for s in parts.values()) / len(parts)
            problems = [f"{name}: {s.explanation}" for name, s in parts.items() if s.value < 1.0]
            out.append(Score(value=value, explanation="; ".join(problems) or "no inconsistency found"))
        return out
