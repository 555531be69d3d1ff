"""Safety: only a single theorem (after at most a few def/abbrev answer preambles) with a sorry proof goes
on toward Lean (`check_safe`, on the candidate's own parse). The checker gates again on its own: it trusts
no caller."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from autoformal.stages.base import Candidate, Job, Stage
from autoformal.syntax import check_safe

if TYPE_CHECKING:
    from autoformal.assembly import Components


class SafetyStage(Stage):
    name = "safe"

    @classmethod
    def build(cls, parts: Components) -> SafetyStage:
        return cls()

    async def run(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
        return await asyncio.to_thread(_safe, candidates)


def _safe(candidates: list[Candidate]) -> list[Candidate]:
    return [c for c in candidates if c.document is not None and check_safe(c.statement, document=c.document).ok]
