"""Lean as a semantic judge, as two stages after `elaborated` (see `autoformal.scoring.semantic`):

- `probed`: every elaborated candidate (once per canonical form) is probed for vacuity, triviality and
  refutation with the fixed portfolio; the report rides on the candidate (`probes`) into the result, and the
  `probes` scorer reads it;
- `clustered`: self-consistency clusters (canonical forms) that Lean proves equivalent are merged, at most
  `semantic.max_pairs_per_input` pairs per input.

Neither filters; both are off without Lean, or when `FormalizerConfig.semantic` turns them off. A checker that
cannot run proof jobs turns them off too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoformal.checking.semantic import SemanticChecker
from autoformal.scoring.semantic import attach_probes, merge_equivalent
from autoformal.stages.base import Candidate, Job, Stage

if TYPE_CHECKING:
    from autoformal.assembly import Components


class ProbeStage(Stage):
    name = "probed"

    def __init__(self, semantic: SemanticChecker) -> None:
        self.semantic = semantic

    @classmethod
    def build(cls, parts: Components) -> ProbeStage | None:
        if parts.semantic is None or not parts.config.semantic.probes:
            return None
        return cls(parts.semantic)

    async def run(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
        probed = await attach_probes(self.semantic, candidates, job.header)
        flagged = [c for c in probed if c.probes is not None and {"vacuous", "refuted"} & set(c.probes.flags)]
        if flagged and len(flagged) == sum(1 for c in probed if c.probes is not None):
            job.report(self.name, f"every probed candidate is vacuous or refuted ({len(flagged)})")
        return probed

    def count(self, job: Job, candidates: list[Candidate]) -> int | None:
        return None


class EquivalenceStage(Stage):
    name = "clustered"

    def __init__(self, semantic: SemanticChecker, max_pairs: int) -> None:
        self.semantic = semantic
        self.max_pairs = max_pairs

    @classmethod
    def build(cls, parts: Components) -> EquivalenceStage | None:
        if parts.semantic is None or not parts.config.semantic.equivalence:
            return None
        return cls(parts.semantic, parts.config.semantic.max_pairs_per_input)

    async def run(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
        return await merge_equivalent(self.semantic, candidates, job.header, max_pairs=self.max_pairs)

    def count(self, job: Job, candidates: list[Candidate]) -> int | None:
        return None
