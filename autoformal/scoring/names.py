"""Unknown names as a score: a statement that references a constant Lean does not have cannot elaborate."""

from __future__ import annotations

from autoformal.names import NameChecker
from autoformal.scoring.base import PerCandidateScorer, Score, ScoringCandidate


class NameScorer(PerCandidateScorer):
    """1.0 when every name resolves, 0.0 when one is certainly unknown, 0.5 when the only misses are names
    Lean would auto-bind as variables (it elaborates, but probably not as meant) or the statement does not
    parse. The explanation names the identifiers and suggests close known names, and lists the names that
    could not be checked without Lean (fields, core members; they do not lower the score)."""

    name = "names"

    def __init__(self, checker: NameChecker, header: str = "") -> None:
        """`header`: the one to check under when a candidate carries no verdict of the pipeline's."""
        self.checker = checker
        self.header = header

    def score_one(self, informal: str, candidate: ScoringCandidate) -> Score:
        if candidate.document is None:
            return Score(value=0.5, explanation="names not checked: the statement does not parse")
        # The pipeline's check ran under the input's own header and context; reuse it rather than re-check
        # under the configured header (which misses per-input `open`s and context declarations).
        result = candidate.names or self.checker.check_document(candidate.document, self.header)
        value = 0.0 if result.unknown else 0.5 if result.auto_bound else 1.0
        return Score(value=value, explanation=result.describe())
