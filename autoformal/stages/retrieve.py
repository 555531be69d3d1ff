"""Retrieve: the Mathlib declarations and solved examples closest to the input, for the prompt."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from autoformal.retrieval.handles import LazyRetrievers
from autoformal.stages.base import Candidate, Job, Stage

if TYPE_CHECKING:
    from autoformal.assembly import Components


class RetrieveStage(Stage):
    name = "retrieved"

    def __init__(self, retrievers: LazyRetrievers) -> None:
        self.retrievers = retrievers

    @classmethod
    def build(cls, parts: Components) -> RetrieveStage:
        return cls(parts.retrievers)

    async def run(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
        job.declarations, job.examples = await asyncio.to_thread(self.retrievers.search, job.text)
        return candidates

    def count(self, job: Job, candidates: list[Candidate]) -> int | None:
        return None  # no candidates yet; what was retrieved shows in the prompt
