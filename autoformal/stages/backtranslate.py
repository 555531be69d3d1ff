"""Back-translate (and judge): one English rendering, and the judge's verdict when configured, per
canonical-form cluster (its members say the same thing), for the candidates the ranker will rank."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoformal.ranking import Ranker
from autoformal.scoring.backtranslation import BackTranslationScorer
from autoformal.stages.base import Candidate, Job, Stage

if TYPE_CHECKING:
    from autoformal.assembly import Components


class BacktranslateStage(Stage):
    name = "backtranslated"

    def __init__(self, backtranslator: BackTranslationScorer, ranker: Ranker) -> None:
        self.backtranslator = backtranslator
        self.ranker = ranker

    @classmethod
    def build(cls, parts: Components) -> BacktranslateStage | None:
        if parts.backtranslator is None:
            return None
        return cls(parts.backtranslator, parts.ranker)

    async def run(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
        representatives: dict[str, int] = {}
        for i, c in enumerate(candidates):
            if self.ranker.keep(c.lean.ok if c.lean is not None else None):
                representatives.setdefault(_cluster(c), i)
        if not representatives:
            return candidates
        order = list(representatives.values())
        statements = [candidates[i].statement for i in order]
        translations = await self.backtranslator.translate(statements)
        judgements = await self.backtranslator.judge(job.text, statements, translations)
        by_cluster = {
            _cluster(candidates[i]): {"back_translation": t, "judgement": j}
            for i, t, j in zip(order, translations, judgements, strict=True)
        }
        return [c.model_copy(update=by_cluster[_cluster(c)]) if _cluster(c) in by_cluster else c for c in candidates]

    def count(self, job: Job, candidates: list[Candidate]) -> int | None:
        return None  # translating drops nothing


def _cluster(candidate: Candidate) -> str:
    return candidate.canonical_form or candidate.statement
