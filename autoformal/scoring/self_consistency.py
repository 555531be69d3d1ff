"""Self-consistency: candidates that many independent samples agree on (same canonical form) are more
likely faithful than one-off readings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from autoformal.scoring.base import Score, ScoringCandidate


def cluster_sizes(candidates: Sequence[ScoringCandidate]) -> list[int]:
    """For each candidate, how many samples (multiplicities summed) share its canonical form; a candidate
    without a canonical form is its own cluster."""
    sizes: Counter[str] = Counter()
    for c in candidates:
        if c.canonical_form is not None:
            sizes[c.canonical_form] += c.multiplicity
    return [sizes[c.canonical_form] if c.canonical_form is not None else c.multiplicity for c in candidates]


class SelfConsistencyScorer:
    """Score = share of the *eligible* samples in the candidate's canonical-form cluster, divided by the
    largest cluster's share, so the majority reading scores 1. Eligible: elaborated when Lean checked the
    candidates (a reading shared by many failing samples is no evidence), else every parsed sample."""

    name = "self_consistency"

    async def score(self, informal: str, candidates: Sequence[ScoringCandidate]) -> list[Score]:
        checked = any(c.lean is not None for c in candidates)
        eligible = [c for c in candidates if c.canonical_form is not None and (not checked or (c.lean and c.lean.ok))]
        sizes: Counter[str] = Counter()
        for c in eligible:
            assert c.canonical_form is not None
            sizes[c.canonical_form] += c.multiplicity
        total = sum(sizes.values())
        largest = max(sizes.values(), default=0)
        what = "elaborating" if checked else "parsed"
        out = []
        for c in candidates:
            size = sizes.get(c.canonical_form or "", 0) if c in eligible else 0
            if size == 0 or total == 0:
                out.append(Score(value=0.0, explanation=f"not among the {what} candidates"))
                continue
            out.append(
                Score(
                    value=size / largest,
                    explanation=f"{size} of {total} {what} samples share this canonical form "
                    f"(largest cluster: {largest})",
                )
            )
        return out
