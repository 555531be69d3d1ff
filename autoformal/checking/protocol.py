"""The `LeanChecker` protocol (one per pipeline stage) and the shared base that gives every implementation
the same safety gate, sync wrapper and context-manager behaviour."""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Sequence
from types import TracebackType
from typing import Any, Protocol, TypeVar, runtime_checkable

from autoformal.checking.header import validate_header
from autoformal.checking.models import CheckResult, CheckStatus
from autoformal.checking.trusted import JobOutcome, ProofJob, UntrustedStatementError
from autoformal.syntax import SafetyVerdict, check_safe

# The gate every statement passes before Lean; `check_safe` unless a caller substitutes a stricter one.
SafetyGate = Callable[[str], SafetyVerdict]
_T = TypeVar("_T")


@runtime_checkable
class LeanChecker(Protocol):
    """Elaborates theorem statements with Lean. `check` is batched: one result per statement, in input
    order. A statement failing the safety gate gets `rejected_unsafe` and never reaches Lean."""

    async def check(self, statements: Sequence[str], header: str) -> list[CheckResult]: ...

    def check_sync(self, statements: Sequence[str], header: str) -> list[CheckResult]: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...


def run_coroutine_sync(make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine from synchronous code, also when the caller already runs an event loop (a notebook):
    then it runs on a private loop in a helper thread instead of failing."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(make())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="autoformal-check-sync")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class BaseChecker(ABC):
    """Validates the header, runs the safety gate, hands the safe statements to `_check_safe_statements`
    and merges the results back in input order."""

    def __init__(self, safety_gate: SafetyGate | None = None) -> None:
        self._safety_gate: SafetyGate = safety_gate or check_safe

    async def check(self, statements: Sequence[str], header: str) -> list[CheckResult]:
        header = validate_header(header)
        gate = self._safety_gate
        # The gate parses every statement (milliseconds each); off the event loop, so a pipeline's other
        # coroutines (LLM requests) keep running meanwhile.
        verdicts = await asyncio.to_thread(lambda: [gate(s) for s in statements])
        results: list[CheckResult | None] = [None] * len(statements)
        safe_indices: list[int] = []
        for i, (statement, verdict) in enumerate(zip(statements, verdicts, strict=True)):
            if verdict.ok:
                safe_indices.append(i)
            else:
                results[i] = CheckResult.failure(statement, CheckStatus.REJECTED_UNSAFE, verdict.reason)
        if safe_indices:
            checked = await self._check_safe_statements([statements[i] for i in safe_indices], header)
            for i, result in zip(safe_indices, checked, strict=True):
                results[i] = result
        return [r for r in results if r is not None]

    def check_sync(self, statements: Sequence[str], header: str) -> list[CheckResult]:
        return run_coroutine_sync(lambda: self.check(statements, header))

    async def run_trusted(self, jobs: Sequence[ProofJob], header: str) -> list[JobOutcome]:
        """Run trusted proof jobs (gated statements + portfolio scripts only; see `autoformal.checking.trusted`).
        One outcome per job, in order."""
        header = validate_header(header)
        for job in jobs:
            if not isinstance(job, ProofJob):
                raise UntrustedStatementError(f"expected a ProofJob, got {type(job).__name__}")
            ProofJob.model_validate(job)  # revalidates: the gate on each prop, the portfolio check on each script
        return await self._run_trusted_jobs(list(jobs), header)

    def run_trusted_sync(self, jobs: Sequence[ProofJob], header: str) -> list[JobOutcome]:
        return run_coroutine_sync(lambda: self.run_trusted(jobs, header))

    async def _run_trusted_jobs(self, jobs: list[ProofJob], header: str) -> list[JobOutcome]:
        """Checkers that can run proofs override this."""
        raise UntrustedStatementError(f"{type(self).__name__} cannot run proof jobs")

    @abstractmethod
    async def _check_safe_statements(self, statements: list[str], header: str) -> list[CheckResult]:
        """Check statements that passed the gate; one result each, in order."""

    @abstractmethod
    def close(self) -> None: ...

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


_Self = TypeVar("_Self", bound=BaseChecker)
