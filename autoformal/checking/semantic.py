"""`SemanticChecker`: Lean as a semantic judge. Runs trusted proof jobs on a checker, knows which portfolio
tactics the Lean at hand has (found once per header by the witnesses), and caches verdicts by canonical form.

`autoformal.checking.equivalence` (is A equivalent to B?) and `autoformal.checking.probes` (is a statement
vacuous, trivial or refuted?) are built on it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt

from autoformal.checking.header import validate_header
from autoformal.checking.portfolio import ALL_TACTICS, WITNESSES, ProofScript, usable
from autoformal.checking.protocol import BaseChecker
from autoformal.checking.trusted import (
    AttemptOutcome,
    AttemptStatus,
    JobOutcome,
    ProofJob,
    TrustedProp,
    TrustedProver,
)

_Model = TypeVar("_Model", bound=BaseModel)


class VerdictCache(Protocol):
    """What the semantic checker needs of `autoformal.cache.Cache`, structurally (cache imports checking, so
    checking must not import cache)."""

    @staticmethod
    def key(*parts: object) -> str: ...

    async def read_through(
        self,
        namespace: str,
        keys: Sequence[str],
        model: type[_Model],
        compute: Callable[[list[int]], Awaitable[Sequence[_Model]]],
        cacheable: Callable[[_Model], bool],
    ) -> list[_Model]: ...


# Bump when the portfolio or the way verdicts are derived changes: cached verdicts are keyed on it.
PORTFOLIO_VERSION = 1


class SemanticConfig(BaseModel):
    """Which semantic stages run in the pipeline (opt-in: they cost Lean time per candidate), and budgets."""

    model_config = ConfigDict(frozen=True)

    probes: bool = Field(default=False, description="Probe elaborated candidates: vacuous, trivial, refuted.")
    equivalence: bool = Field(
        default=False, description="Merge self-consistency clusters Lean proves equivalent (capped pairs per input)."
    )
    timeout_s: PositiveFloat = Field(default=10.0, description="Per proof script; the worker is killed after it.")
    max_heartbeats: PositiveInt = Field(default=20_000, description="`set_option maxHeartbeats N in` per script.")
    max_pairs_per_input: PositiveInt = Field(
        default=6, description="Equivalence checks between self-consistency cluster representatives, per input."
    )


class SemanticChecker:
    """Runs portfolio jobs on `prover` (a `ReplChecker`, `KiminaChecker`, or a `CachedChecker` around one).

    `environment` names what verdicts depend on besides the statements (the Lean project/toolchain), as for
    `CachedChecker`; with a `cache`, verdicts are stored under it and never shared across environments.
    """

    def __init__(
        self,
        prover: TrustedProver,
        *,
        config: SemanticConfig | None = None,
        cache: VerdictCache | None = None,
        environment: str = "",
    ) -> None:
        self.prover = prover
        self.config = config or SemanticConfig()
        self.cache = cache
        self.environment = environment
        self._available: dict[str, frozenset[str]] = {}

    @property
    def _budget(self) -> list[float]:
        """What a verdict depends on besides Lean and the statements: the per-script budgets."""
        return [self.config.timeout_s, self.config.max_heartbeats]

    async def available(self, header: str) -> frozenset[str]:
        """The portfolio tactics this Lean has under `header` (one witness job per tactic, once)."""
        header = validate_header(header)
        # No lock: two concurrent first calls both probe, with the same answer (calls may come from different
        # event loops, which an asyncio.Lock cannot span).
        if header not in self._available:
            jobs = [
                ProofJob(goal=TrustedProp(prop=w.goal), scripts=(w.script,), timeout_s=self.config.timeout_s)
                for w in WITNESSES
            ]
            outcomes = await self.prover.run_trusted(jobs, header)
            self._available[header] = frozenset(
                w.tactic for w, o in zip(WITNESSES, outcomes, strict=True) if o.proved_by is not None
            )
        return self._available[header]

    def missing_tactics(self, available: frozenset[str]) -> list[str]:
        return sorted(ALL_TACTICS - available)

    def job(
        self,
        goal: TrustedProp,
        scripts: Sequence[ProofScript],
        available: frozenset[str],
        assumption: TrustedProp | None = None,
    ) -> tuple[ProofJob | None, list[AttemptOutcome]]:
        """A job with the usable scripts, and the unavailable ones as inconclusive outcomes (never sent)."""
        ok, missing = usable(tuple(scripts), available)
        unavailable = [
            AttemptOutcome(
                script=s.name,
                tactic=s.text,
                status=AttemptStatus.UNAVAILABLE,
                detail="needs " + ", ".join(sorted(s.requires - available)) + ", which this Lean lacks",
            )
            for s in missing
        ]
        if not ok:
            return None, unavailable
        job = ProofJob(
            goal=goal,
            assumption=assumption,
            scripts=tuple(ok),
            timeout_s=self.config.timeout_s,
            max_heartbeats=self.config.max_heartbeats,
        )
        return job, unavailable

    async def run(self, jobs: list[ProofJob], header: str) -> list[JobOutcome]:
        return await self.prover.run_trusted(jobs, header) if jobs else []

    async def cached(
        self,
        kind: str,
        keys: Sequence[tuple[str, ...]],
        header: str,
        model: type[_Model],
        compute: Callable[[list[int]], Awaitable[Sequence[_Model]]],
        cacheable: Callable[[_Model], bool],
    ) -> list[_Model]:
        """Read-through cache of verdicts keyed by canonical forms (no cache: compute everything)."""
        if self.cache is None:
            return list(await compute(list(range(len(keys)))))
        digests = [
            self.cache.key(kind, PORTFOLIO_VERSION, self.environment, header, self.config.model_dump(), list(k))
            for k in keys
        ]
        return await self.cache.read_through(kind, digests, model, compute, cacheable)


@contextlib.contextmanager
def semantic_checker(
    checker: SemanticChecker | BaseChecker | None, config: SemanticConfig | None = None
) -> Iterator[SemanticChecker]:
    """`checker` as a `SemanticChecker`; with None, a `ReplChecker` from the environment, closed on exit."""
    if isinstance(checker, SemanticChecker):
        yield checker
        return
    if checker is not None:
        yield SemanticChecker(checker, config=config)
        return
    from autoformal.checking.factory import build_checker

    with build_checker() as owned:
        yield SemanticChecker(owned, config=config)


def settled(outcomes: Sequence[AttemptOutcome]) -> bool:
    """A verdict worth caching: no script timed out or crashed (those depend on load)."""
    return not any(a.status in (AttemptStatus.TIMEOUT, AttemptStatus.CRASHED) for a in outcomes)
