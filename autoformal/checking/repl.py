"""`ReplChecker`: a warm pool of Lean REPL processes, each driven through lean-interact's `LeanServer`.

lean-interact supplies the process layer: launching `lake env <repl>` in the project, the JSON framing,
RLIMIT_AS (`memory_hard_limit_mb`), per-request timeouts that kill the process tree, and reaping. The
scheduling on top is ours, because `LeanServerPool`/`AutoLeanServer` do not fit a filter that must survive
arbitrary candidates: `AutoLeanServer` replays its session cache after a restart with no timeout (a header
that hangs once hangs the pool forever), backs off with `sleep(2**n)` inside the request path, and neither
recycles a worker after N commands nor exposes which worker holds which header environment.

Each worker elaborates a header once (`{"cmd": header}` → env id) and checks statements with
`{"cmd": statement, "env": id}`; the pool leases a statement to an idle worker that already holds its
header when there is one. A statement that hangs, crashes the worker or makes it print garbage is charged
to that statement only: the worker is killed, the statement gets `timeout`/`crashed`, and the worker is
restarted (header re-elaborated) for the next statement.

Lifecycle rules, all enforced under the pool's one lock (`_Pool.cond`): a process is spawned only while the
checker is open and the caller's batch is not cancelled, so `close()` and a batch cancellation can kill every
process there is and know no new one appears afterwards; consecutive failed starts are counted across the
whole pool, whatever the header, so a broken REPL fails a batch with one `LeanWorkerError` after at most
`max_start_failures` starts; and a batch that fails cancels its remaining work (queued statements are dropped,
other workers' in-flight REPLs are killed).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from autoformal.checking.config import LEAN_SETUP_STEPS, ReplCheckerConfig
from autoformal.checking.errors import HeaderElaborationError, LeanNotFoundError, LeanWorkerError
from autoformal.checking.models import CheckResult, CheckStatus, messages_from_repl, sorries_from_repl
from autoformal.checking.protocol import BaseChecker, SafetyGate
from autoformal.checking.trusted import (
    TRUSTED_BASE_COMMAND,
    JobOutcome,
    ProofJob,
    attempt_outcome,
    failed_setup,
    skipped,
)

if TYPE_CHECKING:
    from lean_interact import LeanREPLConfig, LeanServer
    from lean_interact.interface import CommandResponse, LeanError

_T = TypeVar("_T")

# How much of a dying worker's stdout/stderr to keep in `CheckResult.detail`.
_DETAIL_CHARS = 600


def make_lean_repl_config(config: ReplCheckerConfig) -> LeanREPLConfig:
    """Translate our config into lean-interact's, without building the user's project (a Mathlib project
    without its cache would start a multi-hour build; `lake exe cache get` is a setup step)."""
    lake, project_dir = config.require_lean()
    from lean_interact import LeanREPLConfig, LocalProject, TempRequireProject
    from lean_interact.project import BaseProject

    project: BaseProject
    repl_dir = config.repl_dir
    if repl_dir is None and project_dir is not None and (project_dir / ".lake" / "build" / "bin" / "repl").exists():
        repl_dir = project_dir  # the project carries a built REPL: no fetch needed
    try:
        if project_dir is not None:
            project = LocalProject(directory=str(project_dir), lake_path=str(lake), auto_build=False)
        else:
            assert config.temp_mathlib_version is not None
            project = TempRequireProject(
                lean_version=config.temp_mathlib_version,
                require="mathlib",
                lake_path=str(lake),
                verbose=False,
            )
        return LeanREPLConfig(
            project=project,
            local_repl_path=repl_dir,
            build_repl=repl_dir is None,
            lake_path=lake,
            memory_hard_limit_mb=config.memory_limit_mb,
            enable_incremental_optimization=config.incremental,
            enable_parallel_elaboration=config.parallel_elaboration,
        )
    except Exception as exc:  # lean-interact fails in many ways (git, lake, network); each needs the same fix
        hint = (
            "lean-interact could not fetch or build the Lean REPL (this needs network once). Build "
            "leanprover-community/repl for your project's Lean version (`lake build` in a checkout) and set "
            "AUTOFORMAL_LEAN_REPL to that checkout."
            if repl_dir is None
            else ""
        )
        cause = f"{type(exc).__name__}: {str(exc).strip()[:300]}"
        raise LeanNotFoundError(f"could not prepare the Lean REPL ({cause})\n{hint}\n{LEAN_SETUP_STEPS}") from exc


class _WorkerFault(Exception):
    """The worker process misbehaved (timeout, death, garbage); it has been killed."""

    def __init__(self, status: CheckStatus, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _Cancelled(Exception):
    """The caller's batch was cancelled (another statement of it failed) or the checker is closing."""


# What an empty header is elaborated as: any command gives an environment id, and statements sent with it skip
# re-importing the prelude (on the shipped core Lean, 2 workers: 25 statements/s instead of 5.4). The trusted
# proof jobs' base declaration, so every command we send is either it, a gated statement or a portfolio script.
_EMPTY_HEADER_COMMAND = TRUSTED_BASE_COMMAND


class _Batch:
    """One `check`/`warm_up` call: the workers it holds right now, and whether it was cancelled."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.workers: set[_Worker] = set()


class _Pool:
    """State every worker shares, guarded by one lock: whether the checker is closing, and the pool-wide count
    of consecutive failed starts. Processes are spawned under the lock (spawning is one `Popen`), so whoever
    holds it and kills every live process knows no new one appears behind its back."""

    def __init__(self, max_start_failures: int) -> None:
        self.cond = threading.Condition()
        self.closed = False
        self.max_start_failures = max_start_failures
        self.start_failures = 0  # consecutive, across all workers; reset by any successful start
        self.starts_pending = 0  # attempts under way whose outcome is not known yet
        self.last_fault = ""

    def begin_start(self, worker: _Worker, batch: _Batch) -> None:
        """Reserve one attempt of the start budget and spawn `worker`'s process if it has none. Waits while
        attempts under way could use up the budget (their outcome decides), so concurrent workers never
        overshoot `max_start_failures` starts in total."""
        with self.cond:
            while True:
                if self.closed or batch.cancelled.is_set():
                    raise _Cancelled
                if self.start_failures >= self.max_start_failures:
                    raise self.exhausted()
                if self.start_failures + self.starts_pending < self.max_start_failures:
                    break
                self.cond.wait()
            self.starts_pending += 1
            try:
                if not worker.alive():
                    worker.spawn()
            except (ChildProcessError, OSError) as exc:  # the process died at once or could not be run
                self.starts_pending -= 1
                self._count_failure(f"{type(exc).__name__}: {_tail(str(exc))}")
                raise _StartFailed from exc

    def end_start(self, outcome: bool | None, detail: str = "") -> None:
        """Settle an attempt: True (the header has an env, or Lean rejected it deterministically), False (the
        process failed), None (we killed it ourselves to cancel or close: it counts neither way)."""
        with self.cond:
            self.starts_pending -= 1
            if outcome is True:
                self.start_failures = 0
            elif outcome is False:
                self._count_failure(detail)
            self.cond.notify_all()

    def _count_failure(self, detail: str) -> None:
        self.start_failures += 1
        self.last_fault = detail
        self.cond.notify_all()

    def exhausted(self) -> LeanWorkerError:
        return LeanWorkerError(
            f"Lean workers failed {self.start_failures} times in a row while starting or elaborating the "
            f"header (last: {self.last_fault}). Check that `lake env <repl>` runs in the project and that "
            "memory_limit_mb/header_timeout_s leave room for the imports."
        )


class _StartFailed(Exception):
    """One start attempt failed and was counted; the caller tries again (or `begin_start` gives up)."""


class _Worker:
    """One REPL process plus the header environments it holds. Used by one thread at a time (the pool
    leases it); its process is spawned only through `_Pool.begin_start`."""

    def __init__(self, index: int, lean_config: LeanREPLConfig, config: ReplCheckerConfig, pool: _Pool) -> None:
        self.index = index
        self.busy = False
        self.header_envs: dict[str, int | None] = {}
        self.statements_since_start = 0
        self.starts = 0
        self._lean_config = lean_config
        self._config = config
        self._pool = pool
        self._server: LeanServer | None = None

    @property
    def pid(self) -> int | None:
        proc = self._server._proc if self._server is not None else None
        return proc.pid if proc is not None else None

    def alive(self) -> bool:
        return self._server is not None and self._server.is_alive()

    def kill(self) -> None:
        if self.pid is not None:  # `LeanServer.kill` runs a full `gc.collect()` even with no process: skip it
            assert self._server is not None
            self._server.kill()
        self.header_envs.clear()
        self.statements_since_start = 0

    def kill_process_tree(self) -> None:
        """Kill the process from another thread. `LeanServer.kill` would race with the thread using it; this
        only makes that thread's pending read end (EOF), and the thread then reaps the process itself."""
        import psutil

        if (pid := self.pid) is None:
            return
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            for proc in [*root.children(recursive=True), root]:
                with contextlib.suppress(psutil.Error):
                    proc.kill()

    def spawn(self) -> None:
        """Start a new process (only through `_Pool.begin_start`, which holds the pool's lock; the dead one
        was reaped before, outside the lock)."""
        from lean_interact import LeanServer

        self.starts += 1
        if self._server is None:
            self._server = LeanServer(self._lean_config)  # starts the process
        else:
            self._server.start()

    def _run(self, cmd: str, env: int | None, timeout: float) -> CommandResponse | LeanError:
        """One REPL command; any misbehaviour kills the process and becomes a `_WorkerFault`."""
        from lean_interact.interface import Command

        assert self._server is not None
        request = Command(cmd=cmd, env=env)  # outside the `try`: a bad request is our error, not the worker's
        try:
            return self._server.run(request, timeout=timeout)
        except TimeoutError:
            self.kill()
            detail = f"no answer within {timeout:g} s; worker killed (restarted for the next statement)"
            raise _WorkerFault(CheckStatus.TIMEOUT, detail) from None
        except (ConnectionAbortedError, ChildProcessError, BrokenPipeError, OSError) as exc:
            self.kill()
            raise _WorkerFault(CheckStatus.CRASHED, f"worker died; {_stderr_of(exc)}") from None
        except ValueError as exc:  # json.JSONDecodeError, pydantic.ValidationError: not the REPL protocol
            self.kill()
            raise _WorkerFault(
                CheckStatus.CRASHED, f"worker answered outside the protocol: {_tail(str(exc))}"
            ) from None

    def header_env(self, header: str, batch: _Batch) -> int:
        """The env id of `header` in this worker, (re)starting the worker and elaborating the header as
        needed. An empty header is elaborated too (as an empty command), so every statement reuses an
        environment and a broken REPL shows at start whatever the header. Worker faults count against the
        pool's start budget; Lean errors in the header do not (they are deterministic) and raise at once."""
        from lean_interact.interface import LeanError

        while True:
            if self.alive() and header in self.header_envs:
                env = self.header_envs[header]
                assert env is not None
                return env
            if not self.alive():
                self.kill()  # reap the dead process and forget its environments
            try:
                self._pool.begin_start(self, batch)
            except _StartFailed:
                continue
            try:
                response = self._run(header or _EMPTY_HEADER_COMMAND, None, self._config.header_timeout_s)
            except _WorkerFault as fault:
                if batch.cancelled.is_set():  # we killed it ourselves: not the REPL's failure
                    self._pool.end_start(None)
                    raise _Cancelled from None
                self._pool.end_start(False, f"worker {self.index}: {fault.detail}")
                continue
            except BaseException:
                self._pool.end_start(None)
                raise
            self._pool.end_start(True)
            if isinstance(response, LeanError):
                raise HeaderElaborationError(f"the REPL refused the header: {response.message}")
            errors = [m for m in response.messages if m.severity == "error"]
            if errors:
                shown = "; ".join(f"line {m.start_pos.line}: {m.data}" for m in errors[:3])
                raise HeaderElaborationError(
                    f"the header does not elaborate ({shown}). Fix the header or the project's dependencies "
                    "(`lake exe cache get` for Mathlib)."
                )
            self.header_envs[header] = response.env

    def check(self, statement: str, header: str, batch: _Batch) -> CheckResult:
        from lean_interact.interface import LeanError

        for attempt in range(2):
            env = self.header_env(header, batch)
            started = time.perf_counter()
            try:
                response = self._run(statement, env, self._config.timeout_s)
            except _WorkerFault as fault:
                return CheckResult.failure(statement, fault.status, fault.detail, time.perf_counter() - started)
            elapsed = time.perf_counter() - started
            if isinstance(response, LeanError):
                # "Unknown environment." means this process lost the header env (it should not happen);
                # forget it and retry once on a freshly elaborated header before blaming the statement.
                self.header_envs.pop(header, None)
                if attempt == 0 and "environment" in response.message.lower():
                    continue
                return CheckResult.failure(
                    statement, CheckStatus.CRASHED, f"REPL refused the request: {response.message}", elapsed
                )
            self.statements_since_start += 1
            self._maybe_recycle()
            raw = response.model_dump(by_alias=True, exclude_none=True)
            return CheckResult.from_messages(
                statement,
                messages_from_repl(raw.get("messages")),
                sorries_from_repl(raw.get("sorries")),
                elapsed,
            )
        raise AssertionError("unreachable: the loop returns on its second attempt")

    def _command(self, cmd: str, env: int | None, timeout: float) -> tuple[CheckResult, int | None]:
        """One command of a trusted proof job: its result and the environment it made (None on a fault)."""
        from lean_interact.interface import LeanError

        started = time.perf_counter()
        try:
            response = self._run(cmd, env, timeout)
        except _WorkerFault as fault:
            return CheckResult.failure(cmd, fault.status, fault.detail, time.perf_counter() - started), None
        elapsed = time.perf_counter() - started
        if isinstance(response, LeanError):
            detail = f"REPL refused the request: {response.message}"
            return CheckResult.failure(cmd, CheckStatus.CRASHED, detail, elapsed), None
        self.statements_since_start += 1
        raw = response.model_dump(by_alias=True, exclude_none=True)
        result = CheckResult.from_messages(
            cmd, messages_from_repl(raw.get("messages")), sorries_from_repl(raw.get("sorries")), elapsed
        )
        return result, response.env

    def _job_env(self, job: ProofJob, header: str, batch: _Batch) -> tuple[int | None, JobOutcome | None]:
        """The environment a job's attempts run on: the header's, plus the assumption when there is one."""
        env: int | None = self.header_env(header, batch)
        context = job.context_command()
        if context is None:
            return env, None
        result, env = self._command(context, env, job.timeout_s)
        return (env, None) if result.ok else (None, failed_setup("assumption", result))

    def run_job(self, job: ProofJob, header: str, batch: _Batch) -> JobOutcome:
        """A trusted proof session (see `autoformal.checking.trusted`): context once, goal check, then each
        script on the same environment under its own timeout. A script that kills the worker is charged to
        that script; the context is rebuilt on the restarted worker for the next one."""
        env, failure = self._job_env(job, header, batch)
        if failure is not None:
            return failure
        goal, _ = self._command(job.goal_check_command(), env, job.timeout_s)
        if not goal.ok:
            return failed_setup("goal", goal)
        attempts = []
        proved = False
        for script in job.scripts:
            if proved and job.stop_at_first:
                attempts.append(skipped(script))
                continue
            if not self.alive():
                env, failure = self._job_env(job, header, batch)
                if failure is not None:
                    return failure.model_copy(update={"attempts": attempts})
            result, _ = self._command(job.attempt_command(script), env, job.timeout_s)
            outcome = attempt_outcome(script, result)
            attempts.append(outcome)
            proved = proved or outcome.proved
        self._maybe_recycle()
        return JobOutcome(context_ok=True, goal_ok=True, attempts=attempts)

    def _maybe_recycle(self) -> None:
        """The REPL keeps every environment for the process's life: restart before memory grows too big. Runs
        after a statement's answer is in hand, so recycling never costs a pending check."""
        if self.statements_since_start >= self._config.recycle_after or (
            self._config.max_rss_mb is not None
            and self._server is not None
            and self._server.get_memory_usage() > self._config.max_rss_mb
        ):
            self.kill()


def _stderr_of(exc: BaseException) -> str:
    """The worker's stderr as lean-interact embeds it in its exception text (the cause of death: Lean's
    "INTERNAL PANIC: out of memory", a stack overflow, ...)."""
    match = re.search(r"stderr:\n(.*?)\n-{10,}", str(exc), re.S)
    stderr = match.group(1).strip() if match else ""
    return f"stderr: {_tail(stderr)}" if stderr else f"no stderr ({type(exc).__name__})"


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _DETAIL_CHARS else "…" + text[-_DETAIL_CHARS:]


class ReplChecker(BaseChecker):
    """Checks statements on a warm pool of `config.num_workers` Lean REPL processes.

    >>> with ReplChecker(ReplCheckerConfig(project_dir="~/myproj")) as checker:   # doctest: +SKIP
    ...     results = checker.check_sync(["theorem t (n : ℕ) : n + 0 = n := sorry"], "import Mathlib")
    """

    def __init__(self, config: ReplCheckerConfig | None = None, *, safety_gate: SafetyGate | None = None) -> None:
        super().__init__(safety_gate)
        self.config = config or ReplCheckerConfig()
        lean_config = make_lean_repl_config(self.config)
        self._pool = _Pool(self.config.max_start_failures)
        self._cond = self._pool.cond
        self._workers = [_Worker(i, lean_config, self.config, self._pool) for i in range(self.config.num_workers)]
        self._batches: set[_Batch] = set()
        self._executor = ThreadPoolExecutor(max_workers=self.config.num_workers, thread_name_prefix="lean-worker")

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for monitoring and tests)."""
        return [pid for w in self._workers if (pid := w.pid) is not None]

    @property
    def worker_starts(self) -> int:
        """How many worker processes have been started so far (restarts included)."""
        return sum(w.starts for w in self._workers)

    def _lease(self, header: str, batch: _Batch, only: _Worker | None = None) -> _Worker:
        """Wait for an idle worker (or for `only`), mark it busy and record it as held by `batch`."""
        with self._cond:
            while True:
                if self._pool.closed or batch.cancelled.is_set():
                    raise _Cancelled
                idle = [w for w in self._workers if not w.busy and (only is None or w is only)]
                if idle:
                    warm = [w for w in idle if w.alive() and header in w.header_envs]
                    # Prefer a worker holding the header; else the one holding the fewest other headers.
                    worker = warm[0] if warm else min(idle, key=lambda w: len(w.header_envs))
                    worker.busy = True
                    batch.workers.add(worker)
                    return worker
                self._cond.wait()

    def _release(self, worker: _Worker, batch: _Batch) -> None:
        with self._cond:
            worker.busy = False
            batch.workers.discard(worker)
            self._cond.notify_all()

    def _check_one(self, statement: str, header: str, batch: _Batch) -> CheckResult:
        try:
            worker = self._lease(header, batch)
            try:
                return worker.check(statement, header, batch)
            finally:
                self._release(worker, batch)
        except _Cancelled:
            if not self._pool.closed:
                raise  # the batch failed elsewhere; its error is what the caller gets
            # Closing ends a batch like it ends an in-flight statement: every statement gets a result.
            return CheckResult.failure(statement, CheckStatus.CRASHED, "the checker was closed before Lean answered")

    def _warm_one(self, header: str, target: _Worker, batch: _Batch) -> None:
        worker = self._lease(header, batch, only=target)
        try:
            worker.header_env(header, batch)
        finally:
            self._release(worker, batch)

    def _cancel(self, batch: _Batch) -> None:
        """Stop `batch`: its queued statements give up, and the processes of the workers it holds are killed
        (their threads see EOF and return). Under the pool's lock, so no process is spawned for it afterwards."""
        with self._cond:
            batch.cancelled.set()
            for worker in batch.workers:
                worker.kill_process_tree()
            self._cond.notify_all()

    async def _run_batch(self, batch: _Batch, calls: list[Callable[[], _T]]) -> list[_T]:
        """Run `calls` on the worker threads for `batch`. If one raises (or the caller is cancelled), cancel
        the rest and wait until no thread works for the batch any more, then raise the first error."""
        with self._cond:
            if self._pool.closed:
                raise LeanWorkerError("the checker is closed; create a new ReplChecker")
            self._batches.add(batch)
            futures = [self._executor.submit(call) for call in calls]  # under the lock: close() waits for it
        try:
            return list(await asyncio.gather(*(asyncio.wrap_future(f) for f in futures)))
        except BaseException as exc:
            self._cancel(batch)
            # Queued calls are dropped; wait for the running ones only (a future cancelled in the queue counts
            # as done for `wait` only once a thread dequeues it, which after a shutdown never happens).
            running = [f for f in futures if not f.cancel()]
            await asyncio.to_thread(concurrent.futures.wait, running)
            if isinstance(exc, (_Cancelled, asyncio.CancelledError)) and self._pool.closed:
                raise LeanWorkerError("the checker was closed while checking; create a new ReplChecker") from None
            raise
        finally:
            with self._cond:
                self._batches.discard(batch)

    async def warm_up(self, header: str) -> None:
        """Start every worker and elaborate `header` now, so the first batch does not wait for imports."""
        from autoformal.checking.header import validate_header

        header = validate_header(header)
        batch = _Batch()
        cold = [w for w in self._workers if not (w.alive() and header in w.header_envs)]
        await self._run_batch(batch, [functools.partial(self._warm_one, header, w, batch) for w in cold])

    async def _check_safe_statements(self, statements: list[str], header: str) -> list[CheckResult]:
        batch = _Batch()
        return await self._run_batch(batch, [functools.partial(self._check_one, s, header, batch) for s in statements])

    def _run_job(self, job: ProofJob, header: str, batch: _Batch) -> JobOutcome:
        worker = self._lease(header, batch)
        try:
            return worker.run_job(job, header, batch)
        finally:
            self._release(worker, batch)

    async def _run_trusted_jobs(self, jobs: list[ProofJob], header: str) -> list[JobOutcome]:
        batch = _Batch()
        return await self._run_batch(batch, [functools.partial(self._run_job, job, header, batch) for job in jobs])

    def close(self) -> None:
        """Stop accepting work, cancel running batches (their in-flight and queued statements come back
        `crashed`), kill every worker and reap them. Returns within seconds whatever the workers are doing, and
        no process is started after it was called."""
        with self._cond:
            if self._pool.closed:
                return
            self._pool.closed = True
            for batch in self._batches:
                batch.cancelled.set()
            for worker in self._workers:
                if worker.busy:
                    worker.kill_process_tree()
            self._cond.notify_all()
        # Queued calls still run, each returning at once (`crashed`): a batch under way gets all its results.
        self._executor.shutdown(wait=True)
        for worker in self._workers:
            worker.kill()
