"""Semantic probes per candidate statement, by Lean with the fixed portfolio:

- *vacuous*: `False` follows from the statement's hypotheses (`∀ xs, h₁ → … → False` is proved by
  `VACUITY_SCRIPTS`): the statement holds for no input, so it says nothing;
- *trivial*: the statement itself closes by one cheap tactic (`rfl`, `decide`, `simp`, `norm_num`);
- *refuted*: its negation closes by `decide`, `norm_num` or `simp`: the statement is false.

Each flag carries the script that raised it. A flag that is not raised means "not found by the portfolio",
never "shown not to hold". Statements Lean cannot take (unsafe, with a `by` block, not elaborating) get
`error` set and no flag.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from autoformal.checking.portfolio import REFUTATION_SCRIPTS, TRIVIAL_SCRIPTS, VACUITY_SCRIPTS, ProofScript
from autoformal.checking.protocol import BaseChecker, run_coroutine_sync
from autoformal.checking.semantic import SemanticChecker, SemanticConfig, semantic_checker, settled
from autoformal.checking.trusted import AttemptOutcome, JobOutcome, ProofJob, TrustedProp, UntrustedStatementError

PROBES: tuple[str, ...] = ("vacuous", "trivial", "refuted")
_SCRIPTS: dict[str, tuple[ProofScript, ...]] = {
    "vacuous": VACUITY_SCRIPTS,
    "trivial": TRIVIAL_SCRIPTS,
    "refuted": REFUTATION_SCRIPTS,
}


class ProbeFlag(BaseModel):
    """One probe's answer: `found` with the script that showed it, or not found (with what was tried)."""

    model_config = ConfigDict(frozen=True)

    found: bool = False
    tactic: str | None = None
    attempts: list[AttemptOutcome] = Field(default_factory=list)


class ProbeReport(BaseModel):
    """The three probes of one statement."""

    model_config = ConfigDict(frozen=True)

    vacuous: ProbeFlag = Field(default_factory=ProbeFlag)
    trivial: ProbeFlag = Field(default_factory=ProbeFlag)
    refuted: ProbeFlag = Field(default_factory=ProbeFlag)
    error: str | None = Field(default=None, description="Why the statement could not be probed.")

    @property
    def flags(self) -> dict[str, str]:
        """Raised flags → the tactic that raised each."""
        return {name: flag.tactic or "" for name in PROBES if (flag := getattr(self, name)).found}


def _goals(prop: TrustedProp) -> dict[str, TrustedProp | None]:
    return {"vacuous": prop.hypotheses_to_false(), "trivial": prop, "refuted": prop.negation()}


async def probe_many(checker: SemanticChecker, statements: Sequence[str], header: str) -> list[ProbeReport]:
    """Probe every statement; all jobs run concurrently on the checker's pool."""
    props: list[TrustedProp | ProbeReport] = []
    for text in statements:
        try:
            props.append(TrustedProp.from_statement(text))
        except UntrustedStatementError as exc:
            props.append(ProbeReport(error=str(exc)))
    todo = [p for p in props if isinstance(p, TrustedProp)]

    async def compute(missing: list[int]) -> list[ProbeReport]:
        return await _probe(checker, [todo[i] for i in missing], header)

    def cacheable(report: ProbeReport) -> bool:
        return settled([a for name in PROBES for a in getattr(report, name).attempts])

    done = iter(
        await checker.cached("probe", [(p.as_example(),) for p in todo], header, ProbeReport, compute, cacheable)
    )
    return [next(done) if isinstance(p, TrustedProp) else p for p in props]


async def _probe(checker: SemanticChecker, props: list[TrustedProp], header: str) -> list[ProbeReport]:
    available = await checker.available(header)
    jobs: list[ProofJob] = []
    plan: list[dict[str, tuple[int | None, list[AttemptOutcome]]]] = []
    for prop in props:
        entry: dict[str, tuple[int | None, list[AttemptOutcome]]] = {}
        for name, goal in _goals(prop).items():
            if goal is None:
                continue
            job, missing = checker.job(goal, _SCRIPTS[name], available)
            index = None
            if job is not None:
                index = len(jobs)
                jobs.append(job)
            entry[name] = (index, missing)
        plan.append(entry)
    outcomes = await checker.run(jobs, header)
    return [_report(entry, outcomes) for entry in plan]


def _report(entry: dict[str, tuple[int | None, list[AttemptOutcome]]], outcomes: list[JobOutcome]) -> ProbeReport:
    flags: dict[str, ProbeFlag] = {}
    for name, (index, missing) in entry.items():
        outcome = outcomes[index] if index is not None else None
        if outcome is not None and name == "trivial" and not outcome.goal_ok:
            # The statement itself does not elaborate: nothing to probe.
            return ProbeReport(error=outcome.detail)
        proof = outcome.proved_by if outcome is not None else None
        attempts = [*(outcome.attempts if outcome is not None else []), *missing]
        flags[name] = ProbeFlag(found=proof is not None, tactic=proof.tactic if proof else None, attempts=attempts)
    return ProbeReport.model_validate(flags)


def probe(
    statement: str,
    header: str,
    *,
    checker: SemanticChecker | BaseChecker | None = None,
    config: SemanticConfig | None = None,
) -> ProbeReport:
    """Vacuity, triviality and refutation probes of one statement (see the module docstring)."""
    with semantic_checker(checker, config) as semantic:
        return run_coroutine_sync(lambda: probe_many(semantic, [statement], header))[0]
