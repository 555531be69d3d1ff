"""Lean: elaborate every safe candidate (after the input's trusted context, if any) and attach the verdict.
All candidates go on, rejected ones too (a repair stage reads their errors); the ranker's elaboration filter
applies at ranking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from autoformal.checking.gate import TrustedContextGate, with_context
from autoformal.checking.protocol import LeanChecker
from autoformal.stages.base import Candidate, Job, Stage

if TYPE_CHECKING:
    from autoformal.assembly import Components


class LeanStage(Stage):
    """Counts the candidates that elaborated (0 when Lean is off)."""

    name = "elaborated"

    def __init__(self, checker: LeanChecker | None, gate: TrustedContextGate) -> None:
        self.checker = checker
        self.gate = gate

    @classmethod
    def build(cls, parts: Components) -> LeanStage:
        return cls(parts.checker, parts.safety_gate)

    async def run(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
        if self.checker is None or not candidates:
            return candidates
        if job.context:
            self.gate.register(job.context)
        verdicts = await self.checker.check([with_context(job.context, c.statement) for c in candidates], job.header)
        checked = [c.model_copy(update={"lean": v}) for c, v in zip(candidates, verdicts, strict=True)]
        if not any(v.ok for v in verdicts):
            job.report(
                self.name, f"none of the {len(checked)} safe candidates elaborated; first: {first_error(checked)}"
            )
        return checked

    def count(self, job: Job, candidates: list[Candidate]) -> int | None:
        return sum(1 for c in candidates if c.lean is not None and c.lean.ok)


def first_error(candidates: Sequence[Candidate]) -> str:
    """The first line of the first Lean error among `candidates` (for one-line reports)."""
    for c in candidates:
        lean = c.lean
        if lean is not None and not lean.ok:
            text = next((m.text for m in lean.messages if m.is_error), None) or lean.detail or lean.status.value
            return text.splitlines()[0][:200] if text else lean.status.value
    return "no Lean verdict"
