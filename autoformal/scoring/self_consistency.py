"""Self-consistency: a reading that many independent samples agree on is more likely the faithful one.

Candidates of one input are compared by canonical form (equal forms, or forms Lean proved equivalent:
similarity 1; see `autoformal.scoring.semantic.merge_equivalent`) and otherwise by the
similarity of their canonical term trees, so near-agreement counts too (a soft, minimum-Bayes-risk style
vote): a candidate's score is its mean similarity to the other eligible samples.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from autoformal.scoring.base import Score, ScoringCandidate
from autoformal.scoring.reference import canonical_features, feature_similarity


def cluster_sizes(candidates: Sequence[ScoringCandidate]) -> list[int]:
    """For each candidate, how many samples (multiplicities summed) share its canonical form (or its
    proven-equivalence class, when Lean merged clusters); a candidate without a canonical form is its own
    cluster."""
    sizes: Counter[str] = Counter()
    for c in candidates:
        if c.agreement_key is not None:
            sizes[c.agreement_key] += c.multiplicity
    return [sizes[c.agreement_key] if c.agreement_key is not None else c.multiplicity for c in candidates]


def _features(canonical: str) -> Counter[str] | None:
    try:
        return canonical_features(canonical)
    except Exception:  # StatementSyntaxError, or a grammar bug: no features, similarity 0
        return None


class SelfConsistencyScorer:
    """Score = mean similarity to the other eligible samples (1 per sample with the same canonical form,
    tree similarity otherwise). Eligible: elaborated when Lean checked the candidates (agreement among
    failing samples is no evidence), else every parsed sample. A lone sample scores 0.5 (no evidence)."""

    name = "self_consistency"

    async def score(self, informal: str, candidates: Sequence[ScoringCandidate]) -> list[Score]:
        checked = any(c.lean is not None for c in candidates)
        what = "elaborating" if checked else "parsed"
        eligible = [
            i
            for i, c in enumerate(candidates)
            if c.canonical_form is not None and (not checked or (c.lean is not None and c.lean.ok))
        ]
        features = {i: _features(candidates[i].canonical_form or "") for i in eligible}
        total = sum(candidates[i].multiplicity for i in eligible)
        out = []
        for i, c in enumerate(candidates):
            if i not in features:
                out.append(Score(value=0.0, explanation=f"not among the {what} candidates"))
                continue
            others = total - 1
            if others == 0:
                out.append(Score(value=0.5, explanation=f"the only {what} sample: nothing to agree with"))
                continue
            same = c.multiplicity - 1
            similarity = float(same)
            mine = features[i]
            for j in eligible:
                if j == i:
                    continue
                other = candidates[j]
                if other.agreement_key == c.agreement_key:
                    same += other.multiplicity
                    similarity += other.multiplicity
                else:
                    theirs = features[j]
                    sim = feature_similarity(mine, theirs) if mine is not None and theirs is not None else 0.0
                    similarity += sim * other.multiplicity
            value = similarity / others
            out.append(
                Score(
                    value=min(max(value, 0.0), 1.0),
                    explanation=f"{same} of the {others} other {what} samples have the same canonical form; "
                    f"mean similarity {value:.2f}",
                )
            )
        return out
