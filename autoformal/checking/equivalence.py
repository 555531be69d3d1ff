"""Proven equivalence between two statements (BEq+-style): each is assumed in turn and the other is attempted
with the fixed portfolio (`autoformal.checking.portfolio.DIRECTION_SCRIPTS`).

Verdicts:
- `equivalent`: both directions proved (or the canonical forms are equal: no Lean needed);
- `a_implies_b` / `b_implies_a`: one direction proved, the other not;
- `unknown`: neither direction proved. Not a proof of inequivalence: the portfolio is incomplete, and on a
  core-only Lean most of it is unavailable;
- `error`: a statement fails the safety gate, contains a tactic block or `sorry`, or does not elaborate.

Per direction the result names the script that proved it, and lists every script tried with its status
(`proved`, `failed`, `unavailable`, `timeout`, `crashed`, `skipped`).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from autoformal.checking.portfolio import DIRECTION_SCRIPTS, solver_script
from autoformal.checking.protocol import BaseChecker, run_coroutine_sync
from autoformal.checking.semantic import SemanticChecker, SemanticConfig, semantic_checker, settled
from autoformal.checking.trusted import (
    AttemptOutcome,
    JobOutcome,
    ProofJob,
    TrustedProp,
    UntrustedStatementError,
)


class Verdict(str, Enum):
    EQUIVALENT = "equivalent"
    A_IMPLIES_B = "a_implies_b"
    B_IMPLIES_A = "b_implies_a"
    UNKNOWN = "unknown"
    ERROR = "error"


class Direction(BaseModel):
    """One implication: the other statement assumed, this one attempted."""

    model_config = ConfigDict(frozen=True)

    proved: bool = False
    tactic: str | None = Field(default=None, description="The script that proved it (H = the assumed statement).")
    attempts: list[AttemptOutcome] = Field(default_factory=list)

    @property
    def inconclusive(self) -> list[str]:
        """Scripts that said nothing (unavailable tactic, timeout, crash)."""
        return [a.script for a in self.attempts if a.status.value in ("unavailable", "timeout", "crashed")]


class Equivalence(BaseModel):
    """The result of `equivalent(a, b, header)`."""

    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    a_to_b: Direction = Field(default_factory=Direction, description="b proved from a.")
    b_to_a: Direction = Field(default_factory=Direction, description="a proved from b.")
    method: str = Field(default="lean", description="`canonical` (same canonical form) or `lean` (proved).")
    detail: str | None = Field(default=None, description="Why the verdict is `error`.")

    @property
    def equivalent(self) -> bool:
        return self.verdict is Verdict.EQUIVALENT


def verdict_of(a_to_b: bool, b_to_a: bool) -> Verdict:
    if a_to_b and b_to_a:
        return Verdict.EQUIVALENT
    if a_to_b:
        return Verdict.A_IMPLIES_B
    if b_to_a:
        return Verdict.B_IMPLIES_A
    return Verdict.UNKNOWN


async def equivalent_many(checker: SemanticChecker, pairs: Sequence[tuple[str, str]], header: str) -> list[Equivalence]:
    """`equivalent` for many pairs at once: every direction of every pair runs concurrently on the pool."""
    props: list[tuple[TrustedProp, TrustedProp] | Equivalence] = []
    for a, b in pairs:
        try:
            pair = (_trusted(a, "A"), _trusted(b, "B"))
        except UntrustedStatementError as exc:
            props.append(Equivalence(verdict=Verdict.ERROR, detail=str(exc)))
        else:
            props.append(pair)
    todo = [i for i, p in enumerate(props) if isinstance(p, tuple)]
    keys = [_key(props[i]) for i in todo]  # type: ignore[arg-type]

    async def compute(missing: list[int]) -> list[Equivalence]:
        return await _prove_pairs(checker, [props[todo[m]] for m in missing], header)  # type: ignore[misc]

    done = iter(
        await checker.cached(
            "equiv", keys, header, Equivalence, compute, lambda e: settled([*e.a_to_b.attempts, *e.b_to_a.attempts])
        )
    )
    return [next(done) if isinstance(p, tuple) else p for p in props]


def _trusted(text: str, which: str) -> TrustedProp:
    try:
        return TrustedProp.from_statement(text)
    except UntrustedStatementError as exc:
        raise UntrustedStatementError(f"statement {which}: {exc}") from exc


def _key(pair: tuple[TrustedProp, TrustedProp]) -> tuple[str, ...]:
    a, b = pair
    return (a.as_example(), b.as_example())


async def _prove_pairs(
    checker: SemanticChecker, pairs: list[tuple[TrustedProp, TrustedProp]], header: str
) -> list[Equivalence]:
    available = await checker.available(header) if any(a != b for a, b in pairs) else frozenset()
    extra = solver_script(available)
    scripts = (*DIRECTION_SCRIPTS[:2], *([extra] if extra else []), *DIRECTION_SCRIPTS[2:])
    jobs: list[ProofJob] = []
    slots: list[tuple[int | None, list[AttemptOutcome], int | None, list[AttemptOutcome]]] = []
    for a, b in pairs:
        if a == b:
            slots.append((None, [], None, []))
            continue
        ab, ab_missing = checker.job(b, scripts, available, assumption=a)
        ba, ba_missing = checker.job(a, scripts, available, assumption=b)
        ab_index = ba_index = None
        if ab is not None:
            ab_index = len(jobs)
            jobs.append(ab)
        if ba is not None:
            ba_index = len(jobs)
            jobs.append(ba)
        slots.append((ab_index, ab_missing, ba_index, ba_missing))
    outcomes = await checker.run(jobs, header)
    results = []
    for (a, b), (ab_index, ab_missing, ba_index, ba_missing) in zip(pairs, slots, strict=True):
        if a == b:
            proof = Direction(proved=True, tactic="canonical form")
            results.append(Equivalence(verdict=Verdict.EQUIVALENT, a_to_b=proof, b_to_a=proof, method="canonical"))
            continue
        ab_outcome = outcomes[ab_index] if ab_index is not None else None
        ba_outcome = outcomes[ba_index] if ba_index is not None else None
        error = _setup_error(ab_outcome, "A", "B") or _setup_error(ba_outcome, "B", "A")
        a_to_b = _direction(ab_outcome, ab_missing)
        b_to_a = _direction(ba_outcome, ba_missing)
        if error is not None:
            results.append(Equivalence(verdict=Verdict.ERROR, a_to_b=a_to_b, b_to_a=b_to_a, detail=error))
        else:
            verdict = verdict_of(a_to_b.proved, b_to_a.proved)
            results.append(Equivalence(verdict=verdict, a_to_b=a_to_b, b_to_a=b_to_a))
    return results


def _setup_error(outcome: JobOutcome | None, assumed: str, goal: str) -> str | None:
    if outcome is None or (outcome.context_ok and outcome.goal_ok):
        return None
    which = assumed if not outcome.context_ok else goal
    return f"statement {which}: {outcome.detail}"


def _direction(outcome: JobOutcome | None, missing: list[AttemptOutcome]) -> Direction:
    attempts = [*(outcome.attempts if outcome is not None else []), *missing]
    proof = outcome.proved_by if outcome is not None else None
    return Direction(proved=proof is not None, tactic=proof.tactic if proof else None, attempts=attempts)


def equivalent(
    a: str,
    b: str,
    header: str,
    *,
    checker: SemanticChecker | BaseChecker | None = None,
    config: SemanticConfig | None = None,
) -> Equivalence:
    """Is statement `a` equivalent to statement `b` under `header`? Both are full statements with a sorry
    proof (`theorem t (n : Nat) : n + 0 = n := sorry`). Without a `checker`, a `ReplChecker` is started from
    the environment (AUTOFORMAL_LEAN_PROJECT) and closed afterwards.

    >>> equivalent("theorem a (n : Nat) : n + 0 = n := sorry",
    ...            "theorem b (m : Nat) : m + 0 = m := sorry", "").verdict   # doctest: +SKIP
    <Verdict.EQUIVALENT: 'equivalent'>
    """
    with semantic_checker(checker, config) as semantic:
        return run_coroutine_sync(lambda: equivalent_many(semantic, [(a, b)], header))[0]
