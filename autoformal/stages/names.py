"""Names: the static check that every constant a candidate references exists in Mathlib (a names table),
before Lean. Its verdict rides on the candidate (the `names` scorer reads it)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Literal

from autoformal.names import NameChecker
from autoformal.stages.base import Candidate, Job, Stage

if TYPE_CHECKING:
    from autoformal.assembly import Components


class NamesStage(Stage):
    """With `names_filter="drop"` only candidates whose names all exist, or might, go on; each dropped one is
    reported. With "annotate" all go on, with their verdicts."""

    name = "names"

    def __init__(self, checker: NameChecker, names_filter: Literal["drop", "annotate"]) -> None:
        self.checker = checker
        self.names_filter = names_filter

    @classmethod
    def build(cls, parts: Components) -> NamesStage | None:
        if parts.name_checker is None:
            return None
        return cls(parts.name_checker, parts.config.names_filter)

    async def run(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
        return await asyncio.to_thread(self._check, job, candidates)

    def _check(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
        header = f"{job.header}\n{job.context or ''}"
        kept = []
        for c in candidates:
            assert c.document is not None  # the safety stage let only parsed candidates through
            verdict = self.checker.check_document(c.document, header)
            if verdict.ok or self.names_filter == "annotate":
                kept.append(c.model_copy(update={"names": verdict}))
            else:
                job.report(self.name, f"not sent to Lean, {verdict.describe()}: {c.statement[:200]}")
                job.refused.append(c.model_copy(update={"names": verdict}))
        return kept
