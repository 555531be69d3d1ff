"""Score and rank: every scorer scores the candidates the ranker keeps (its elaboration filter), the
`Ranker` combines the scores and orders them; the job's `ranked` list is the result's candidates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from autoformal.ranking import Ranker
from autoformal.results import RankedCandidate
from autoformal.scoring import Score, Scorer, cluster_sizes
from autoformal.stages.base import Candidate, Job, Stage

if TYPE_CHECKING:
    from autoformal.assembly import Components


class ScoreStage(Stage):
    name = "ranked"

    def __init__(self, scorers: Sequence[Scorer], ranker: Ranker) -> None:
        self.scorers = list(scorers)
        self.ranker = ranker

    @classmethod
    def build(cls, parts: Components) -> ScoreStage:
        return cls(parts.scorers, parts.ranker)

    async def run(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
        kept = [c for c in candidates if self.ranker.keep(c.lean.ok if c.lean is not None else None)]
        if not kept:
            job.ranked = []
            return []
        per_scorer: dict[str, list[Score]] = {}
        for scorer in self.scorers:
            per_scorer[scorer.name] = await scorer.score(job.text, kept)
        sizes = cluster_sizes(kept)
        scores = [{name: s[i].value for name, s in per_scorer.items()} for i in range(len(kept))]
        combined = [self.ranker.combine(s) for s in scores]
        order = self.ranker.order(combined, sizes)
        job.ranked = [
            RankedCandidate(
                rank=rank,
                statement=kept[i].statement,
                canonical_form=kept[i].canonical_form,
                score=combined[i],
                scores=scores[i],
                explanations={name: s[i].explanation for name, s in per_scorer.items()},
                lean=kept[i].lean,
                back_translation=kept[i].back_translation,
                judgement=kept[i].judgement,
                cluster_size=sizes[i],
                probes=kept[i].probes,
                annotations=kept[i].annotations,
                provenance=kept[i].provenance,
            )
            for rank, i in enumerate(order, start=1)
        ]
        return [kept[i] for i in order]
