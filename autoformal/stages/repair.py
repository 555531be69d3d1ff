"""The refinement loop as stages (the loop itself: `autoformal.repair`).

- `RepairStage` ("repaired", after Lean): failed candidates — Lean errors, and the name check's refusals — go
  back to the model; the corrections come in through `Job.admit` (extract → parse → safety → names → Lean,
  exactly like the first samples) and go on with the rest. Its count is the repaired candidates that elaborated
  (no count when no round ran).
- `RevisionStage` ("revised", after ranking; only with `judge_revision`): when the judge finds the top candidate
  weaker, stronger or unrelated, its reason goes back once; the revision is admitted, back-translated and judged,
  and everything is ranked again.

Both spend the per-input budget `repair_max_requests` and record what they did on the job (`repair_rounds`,
`extra_requests`), which the result reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoformal.checking.gate import CONTEXT_SEPARATOR
from autoformal.errors import AutoformalError
from autoformal.repair import Admit, Admitted, RepairLoop, RepairSettings
from autoformal.stages.backtranslate import BacktranslateStage
from autoformal.stages.base import Candidate, Job, Stage
from autoformal.stages.generate import GenerateStage, prompt_input
from autoformal.stages.score import ScoreStage

if TYPE_CHECKING:
    from autoformal.assembly import Components


def repair_loop(parts: Components) -> RepairLoop:
    """The loop over the cached backend (a resumed run gets its repairs from the cache), sampling like the
    generate stage, one answer per request."""
    cfg = parts.config
    generate = GenerateStage.build(parts)
    settings = RepairSettings(
        rounds=cfg.repair_rounds,
        min_elaborated=cfg.min_elaborated,
        max_requests=cfg.repair_max_requests,
        judge_revision=cfg.judge_revision,
    )
    return RepairLoop(
        parts.backend,
        settings,
        lambda messages: generate.sampling(messages, n=1),
        budget=cfg.prompt_budget,
        count_tokens=parts.count_tokens,
    )


def admitter(job: Job, origin: str) -> Admit:
    """`Job.admit` for one statement at a time, with what the name check refused on the way (the loop repairs
    those too): the refusals are the new entries of the shared `job.refused` for that statement."""

    async def admit(statements: list[str]) -> Admitted:
        before = len(job.refused)
        kept = await job.admit(statements, origin)
        wanted = set(statements)
        refused = [c for c in job.refused[before:] if c.statement in wanted]
        return Admitted(kept=kept, refused=refused)

    return admit


class RepairStage(Stage):
    name = "repaired"

    def __init__(self, loop: RepairLoop) -> None:
        self.loop = loop

    @classmethod
    def build(cls, parts: Components) -> RepairStage | None:
        cfg = parts.config
        if cfg.repair_rounds == 0 or cfg.repair_max_requests == 0:
            return None
        return cls(repair_loop(parts))

    async def run(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
        outcome = await self.loop.repair(
            prompt_input(job),
            [*candidates, *job.refused],
            admitter(job, "repair"),
            declarations=job.declarations,
            budget_left=self.loop.settings.max_requests - job.extra_requests,
            # Lean counted the trusted context's lines too (it was sent before the statement).
            line_offset=job.context.count("\n") + CONTEXT_SEPARATOR.count("\n") if job.context else 0,
        )
        for error in outcome.errors:
            job.report(self.name, error)
        job.repair_rounds = outcome.rounds
        job.extra_requests += outcome.requests
        return [*candidates, *outcome.candidates]

    def count(self, job: Job, candidates: list[Candidate]) -> int | None:
        if not job.repair_rounds:  # nothing failed, or nothing repairable: no entry, like a stage that is off
            return None
        return sum(1 for c in candidates if c.provenance.origin == "repair" and c.lean is not None and c.lean.ok)


class RevisionStage(Stage):
    name = "revised"

    def __init__(self, loop: RepairLoop, backtranslate: BacktranslateStage, score: ScoreStage) -> None:
        self.loop = loop
        self.backtranslate = backtranslate
        self.score = score

    @classmethod
    def build(cls, parts: Components) -> RevisionStage | None:
        cfg = parts.config
        backtranslate = BacktranslateStage.build(parts)
        if not cfg.judge_revision or cfg.repair_max_requests == 0 or backtranslate is None:
            return None
        return cls(repair_loop(parts), backtranslate, ScoreStage.build(parts))

    async def run(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
        top = candidates[0] if candidates else None  # the score stage returns the ranked candidates, best first
        if not self.loop.wants_revision(top, self.loop.settings.max_requests - job.extra_requests):
            return candidates
        assert top is not None
        job.extra_requests += 1
        try:
            revised = await self.loop.revise(job.text, top, admitter(job, "revision"), existing=candidates)
        except AutoformalError as exc:  # the ranking stands; say why there is no revision
            job.report(self.name, f"the revision request failed ({type(exc).__name__}: {exc})")
            return candidates
        if not revised:
            return candidates
        revised = await self.backtranslate.run(job, revised)
        return await self.score.run(job, [*candidates, *revised])

    def count(self, job: Job, candidates: list[Candidate]) -> int | None:
        return len(candidates)  # ranked, the revision included (`ranked` counts them before it)
