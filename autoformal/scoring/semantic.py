"""Lean's semantic verdicts on the candidates of one input, and the score they give.

- `attach_probes`: each candidate Lean elaborated is probed (vacuous / trivial / refuted, see
  `autoformal.checking.probes`); the report is attached to the candidate.
- `merge_equivalent`: canonical-form clusters first (free), then the portfolio between cluster
  representatives, largest clusters first, at most `max_pairs` pairs per input. Clusters proven equivalent
  share an `equivalence_class`, which self-consistency counts as agreement.
- `ProbeScorer` (`probes`): 0 for a vacuous or refuted candidate, 0.9 for a trivial one, 1 otherwise, 0.5
  when not probed. Its default weight (`DEFAULT_WEIGHTS["probes"]`) exceeds the sum of the other default
  weights, so a flagged candidate ranks below every unflagged one whatever the other default scores say.
"""

from __future__ import annotations

from collections.abc import Sequence

from autoformal.checking.equivalence import Verdict, equivalent_many
from autoformal.checking.probes import ProbeReport, probe_many
from autoformal.checking.semantic import SemanticChecker
from autoformal.scoring.base import Score, ScoringCandidate

FLAGGED_VALUE = 0.0
TRIVIAL_VALUE = 0.9


def _eligible(candidate: ScoringCandidate) -> bool:
    """Only candidates Lean elaborated (or that Lean did not check at all) are worth Lean's time."""
    return candidate.canonical_form is not None and (candidate.lean is None or candidate.lean.ok)


async def attach_probes(
    semantic: SemanticChecker, candidates: Sequence[ScoringCandidate], header: str
) -> list[ScoringCandidate]:
    """The candidates with their `probes` report (eligible ones; one Lean job set per canonical form)."""
    firsts: dict[str, int] = {}
    for i, c in enumerate(candidates):
        if _eligible(c):
            firsts.setdefault(c.canonical_form or "", i)
    reports = await probe_many(semantic, [candidates[i].statement for i in firsts.values()], header)
    by_form: dict[str, ProbeReport] = dict(zip(firsts, reports, strict=True))
    return [c.model_copy(update={"probes": by_form[c.canonical_form or ""]}) if _eligible(c) else c for c in candidates]


async def merge_equivalent(
    semantic: SemanticChecker, candidates: Sequence[ScoringCandidate], header: str, *, max_pairs: int
) -> list[ScoringCandidate]:
    """The candidates with `equivalence_class` set: the canonical form of the largest cluster proven
    equivalent to theirs (their own when none was)."""
    sizes: dict[str, int] = {}
    representative: dict[str, int] = {}
    for i, c in enumerate(candidates):
        if _eligible(c):
            form = c.canonical_form or ""
            sizes[form] = sizes.get(form, 0) + c.multiplicity
            representative.setdefault(form, i)
    forms = sorted(sizes, key=lambda f: (-sizes[f], representative[f]))
    pairs = [(a, b) for k, a in enumerate(forms) for b in forms[k + 1 :]][:max_pairs]
    verdicts = await equivalent_many(
        semantic,
        [(candidates[representative[a]].statement, candidates[representative[b]].statement) for a, b in pairs],
        header,
    )
    parent = {f: f for f in forms}

    def root(f: str) -> str:
        while parent[f] != f:
            f = parent[f]
        return f

    for (a, b), verdict in zip(pairs, verdicts, strict=True):
        if verdict.verdict is Verdict.EQUIVALENT:
            ra, rb = root(a), root(b)
            if ra != rb:  # the earlier form (larger cluster) stays the class name
                first, second = sorted((ra, rb), key=forms.index)
                parent[second] = first
    return [
        c.model_copy(update={"equivalence_class": root(c.canonical_form or "")}) if _eligible(c) else c
        for c in candidates
    ]


class ProbeScorer:
    """Lean's probes as a score: a vacuous or refuted statement is unfaithful whatever else it gets right."""

    name = "probes"

    async def score(self, informal: str, candidates: Sequence[ScoringCandidate]) -> list[Score]:
        return [self._one(c.probes) for c in candidates]

    @staticmethod
    def _one(report: ProbeReport | None) -> Score:
        if report is None or report.error is not None:
            reason = report.error if report is not None else "not probed"
            return Score(value=0.5, explanation=f"no probe verdict ({reason})")
        flags = report.flags
        found = ", ".join(f"{flag} (by `{tactic}`)" for flag, tactic in flags.items())
        if "vacuous" in flags or "refuted" in flags:
            return Score(value=FLAGGED_VALUE, explanation=f"Lean found it {found}")
        if "trivial" in flags:
            return Score(value=TRIVIAL_VALUE, explanation=f"Lean found it {found}: says nothing hard")
        return Score(value=1.0, explanation="not vacuous, trivial or refuted by the portfolio")
