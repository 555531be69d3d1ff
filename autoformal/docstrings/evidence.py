"""Kernel-checked examples: `f args = result`, proved by the portfolio's `decide`, then `rfl`, against a
candidate def, through the trusted-job API (`SemanticChecker`, `ProofJob`, `TrustedProp`).

Every proposition is printed by our code from Python values (`lean_literal`); the only model text in a job
is the candidate def, which passed the gate and is re-checked by `TrustedProp`'s validator. Each candidate
also gets a *signature job*, `(name : T₁ → … → R) = name`, whose goal elaborates only when the def does,
with the derived type: a def that does not elaborate is rejected with Lean's message even without examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from autoformal.checking.portfolio import TRIVIAL_SCRIPTS
from autoformal.checking.semantic import SemanticChecker
from autoformal.checking.trusted import INCONCLUSIVE, JobOutcome, ProofJob, TrustedProp
from autoformal.docstrings.literals import lean_literal
from autoformal.docstrings.translate import CandidateDef, LeanSignature
from autoformal.errors import UnprintableValueError, UntrustedStatementError

# `decide` first (evaluation by the kernel), then `rfl` (definitional unfolding).
EXAMPLE_SCRIPTS = tuple(s for name in ("decide", "rfl") for s in TRIVIAL_SCRIPTS if s.name == name)
Origin = Literal["docstring", "differential"]


class LeanExample(BaseModel):
    """One input/output pair as a Lean proposition (printed by us)."""

    origin: Origin
    python: str = Field(description="The pair in Python syntax: `f([1, 2]) == 3`.")
    prop: str = Field(description="The pair in Lean syntax: `m.f [1, 2] = 3`.")
    args: tuple[Any, ...] = Field(default=(), exclude=True, description="The Python arguments.")


class ExampleVerdict(BaseModel):
    example: LeanExample
    status: Literal["passed", "failed", "inconclusive"]
    proved_by: str | None = None
    lean_message: str | None = Field(default=None, description="Lean's error when it failed.")


class DefVerdict(BaseModel):
    """What Lean said about one candidate def."""

    sample: int
    text: str
    round: int = Field(default=0, description="0: a first sample; n: the answer to a repair request of round n.")
    parent: int | None = Field(default=None, description="The failed sample a repaired def corrects.")
    elaborates: bool
    lean_message: str | None = Field(default=None, description="Why the def (with the derived type) fails.")
    examples: list[ExampleVerdict] = Field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(v.status == "passed" for v in self.examples)

    @property
    def failed(self) -> list[ExampleVerdict]:
        return [v for v in self.examples if v.status == "failed"]

    @property
    def acceptable(self) -> bool:
        return self.elaborates and not self.failed


def lean_example(signature: LeanSignature, args: Sequence[Any], result: Any, origin: Origin) -> LeanExample:
    """`name a₁ … aₙ = r`; `UnprintableValueError` when a value has no literal we print."""
    printed = [lean_literal(a, t) for a, t in zip(args, signature.annotations, strict=True)]
    expected = lean_literal(result, signature.returns)
    call = " ".join([signature.name, *printed])
    python = f"{signature.name.rsplit('.', 1)[-1]}({', '.join(map(repr, args))}) == {result!r}"
    return LeanExample(origin=origin, python=python, prop=f"{call} = {expected}", args=tuple(args))


def printable_examples(
    signature: LeanSignature, pairs: Sequence[tuple[Sequence[Any], Any]], origin: Origin
) -> tuple[list[LeanExample], int]:
    """The pairs we can print as Lean, and how many we cannot (skipped)."""
    examples: list[LeanExample] = []
    skipped = 0
    for args, result in pairs:
        try:
            examples.append(lean_example(signature, args, result, origin))
        except UnprintableValueError:
            skipped += 1
    return examples, skipped


async def check_candidates(
    semantic: SemanticChecker,
    header: str,
    signature: LeanSignature,
    candidates: Sequence[tuple[int, CandidateDef]],
    examples: Sequence[LeanExample],
) -> list[DefVerdict]:
    """Run every candidate's signature job and example jobs in one batch; one verdict per candidate."""
    available = await semantic.available(header)
    arrow = " → ".join([*(t if "→" not in t else f"({t})" for _, t in signature.params), signature.result])
    plans: list[tuple[int, CandidateDef, list[ProofJob | None]]] = []
    jobs: list[ProofJob] = []
    for sample, candidate in candidates:
        props = [f"({signature.name} : {arrow}) = {signature.name}", *(e.prop for e in examples)]
        planned: list[ProofJob | None] = []
        for prop in props:
            try:
                goal = TrustedProp(defs=candidate.defs, prop=prop)
            except UntrustedStatementError:
                planned.append(None)
                continue
            job, _ = semantic.job(goal, EXAMPLE_SCRIPTS, available)
            planned.append(job)
            if job is not None:
                jobs.append(job)
        plans.append((sample, candidate, planned))
    outcomes = iter(await semantic.run(jobs, header))
    verdicts: list[DefVerdict] = []
    for sample, candidate, planned in plans:
        results = [next(outcomes) if job is not None else None for job in planned]
        signature_outcome, *example_outcomes = results
        elaborates = signature_outcome is not None and signature_outcome.goal_ok
        verdict = DefVerdict(
            sample=sample,
            text=candidate.text,
            elaborates=elaborates,
            lean_message=None if elaborates else _why(signature_outcome),
        )
        if elaborates:
            verdict.examples = [_example_verdict(e, o) for e, o in zip(examples, example_outcomes, strict=True)]
        verdicts.append(verdict)
    return verdicts


def _why(outcome: JobOutcome | None) -> str:
    if outcome is None:
        return "not sent: the def fails the trusted-statement checks, or this Lean has neither decide nor rfl"
    return outcome.detail or "the def does not elaborate"


def _example_verdict(example: LeanExample, outcome: JobOutcome | None) -> ExampleVerdict:
    if outcome is None:
        return ExampleVerdict(example=example, status="inconclusive", lean_message="not sent")
    if not outcome.goal_ok:
        return ExampleVerdict(example=example, status="failed", lean_message=outcome.detail)
    proved = outcome.proved_by
    if proved is not None:
        return ExampleVerdict(example=example, status="passed", proved_by=proved.script)
    if outcome.attempts and all(a.status in INCONCLUSIVE for a in outcome.attempts):
        return ExampleVerdict(example=example, status="inconclusive", lean_message=outcome.attempts[0].detail)
    message = next((a.detail for a in outcome.attempts if a.detail), None)
    return ExampleVerdict(example=example, status="failed", lean_message=message)
