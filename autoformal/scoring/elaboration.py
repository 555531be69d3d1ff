"""The Lean verdict as a score: 1 when the candidate elaborated, 0 when Lean rejected it."""

from __future__ import annotations

from collections.abc import Sequence

from autoformal.scoring.base import Score, ScoringCandidate


class ElaborationScorer:
    """1.0 elaborated, 0.0 error/timeout/crash/unsafe; 0.5 (no evidence) when Lean did not check it."""

    name = "elaboration"

    async def score(self, informal: str, candidates: Sequence[ScoringCandidate]) -> list[Score]:
        return [self._one(c) for c in candidates]

    @staticmethod
    def _one(candidate: ScoringCandidate) -> Score:
        lean = candidate.lean
        if lean is None:
            return Score(value=0.5, explanation="not checked by Lean")
        if lean.ok:
            return Score(value=1.0, explanation="elaborates")
        first_error = next((m.text for m in lean.messages if m.is_error), None)
        reason = first_error or lean.detail or lean.status.value
        return Score(value=0.0, explanation=f"Lean: {lean.status.value}: {reason.splitlines()[0][:200]}")
