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
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

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

# How much of a dying worker's stdout/stderr to keep in `CheckResult.detail`.
_DETAIL_CHARS = 600
_TRUSTED_BASE = "-- autoformal trusted base"


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


class _Worker:
    """One REPL process plus the header environments it holds. Used by one thread at a time (the pool
    leases it), so it needs no lock of its own."""

    def __init__(self, index: int, lean_config: LeanREPLConfig, config: ReplCheckerConfig) -> None:
        self.index = index
        self.busy = False
        self.header_envs: dict[str, int | None] = {}
        self.statements_since_start = 0
        self.starts = 0
        self._lean_config = lean_config
        self._config = config
        self._server: LeanServer | None = None

    @property
    def pid(self) -> int | None:
        proc = self._server._proc if self._server is not None else None
        return proc.pid if proc is not None else None

    def alive(self) -> bool:
        return self._server is not None and self._server.is_alive()

    def kill(self) -> None:
        if self._server is not None:
            self._server.kill()
        self.header_envs.clear()
        self.statements_since_start = 0

    def _start(self) -> None:
        from lean_interact import LeanServer

        self.kill()
        if self._server is None:
            self._server = LeanServer(self._lean_config)  # starts the process
        else:
            self._server.start()
        self.starts += 1

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

    def header_env(self, header: str) -> int | None:
        """The env id of `header` in this worker, (re)starting the worker and elaborating the header as
        needed. Worker faults are retried up to `max_start_failures` times; Lean errors in the header are
        not (they are deterministic)."""
        from lean_interact.interface import LeanError

        failures = 0
        while True:
            if self.alive() and header in self.header_envs:
                return self.header_envs[header]
            try:
                if not self.alive():
                    self._start()
                if not header:  # nothing to elaborate: statements start from the empty environment
                    self.header_envs[header] = None
                    continue
                response = self._run(header, None, self._config.header_timeout_s)
            except (_WorkerFault, ChildProcessError, OSError) as exc:
                failures += 1
                if failures >= self._config.max_start_failures:
                    self.kill()
                    raise LeanWorkerError(
                        f"Lean worker {self.index} failed {failures} times in a row while starting or "
                        f"elaborating the header ({exc}). Check that `lake env <repl>` runs in the project "
                        f"and that memory_limit_mb/header_timeout_s leave room for the imports."
                    ) from exc
                continue
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

    def check(self, statement: str, header: str) -> CheckResult:
        from lean_interact.interface import LeanError

        for attempt in range(2):
            env = self.header_env(header)
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

    def _job_env(self, job: ProofJob, header: str) -> tuple[int | None, JobOutcome | None]:
        """The environment a job's attempts run on: the header's, plus the assumption when there is one."""
        env = self.header_env(header)
        if env is None:
            env = self._trusted_base_env()
        context = job.context_command()
        if context is None:
            return env, None
        result, env = self._command(context, env, job.timeout_s)
        return (env, None) if result.ok else (None, failed_setup("assumption", result))

    def _trusted_base_env(self) -> int | None:
        """An empty header has no environment id, and a command without one re-imports the prelude each time;
        proof jobs make one base environment per worker process and build on it. Kept in `header_envs` under a
        key no validated header can equal (they have no comments), so a restart forgets it too."""
        if _TRUSTED_BASE not in self.header_envs:
            result, env = self._command(TRUSTED_BASE_COMMAND, None, self._config.header_timeout_s)
            if not result.ok:
                return None
            self.header_envs[_TRUSTED_BASE] = env
        return self.header_envs[_TRUSTED_BASE]

    def run_job(self, job: ProofJob, header: str) -> JobOutcome:
        """A trusted proof session (see `autoformal.checking.trusted`): context once, goal check, then each
        script on the same environment under its own timeout. A script that kills the worker is charged to
        that script; the context is rebuilt on the restarted worker for the next one."""
        env, failure = self._job_env(job, header)
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
                env, failure = self._job_env(job, header)
                if failure is not None:
                    return failure.model_copy(update={"attempts": attempts})
            result, _ = self._command(job.attempt_command(script), env, job.timeout_s)
            outcome = attempt_outcome(script, result)
            attempts.append(outcome)
            proved = proved or outcome.proved
        self._maybe_recycle()
        return JobOutcome(context_ok=True, goal_ok=True, attempts=attempts)

    def _maybe_recycle(self) -> None:
        """The REPL keeps every environment for the process's life: restart before memory grows too big."""
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
        self._workers = [_Worker(i, lean_config, self.config) for i in range(self.config.num_workers)]
        self._cond = threading.Condition()
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=self.config.num_workers, thread_name_prefix="lean-worker")

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for monitoring and tests)."""
        return [pid for w in self._workers if (pid := w.pid) is not None]

    @property
    def worker_starts(self) -> int:
        """How many worker processes have been started so far (restarts included)."""
        return sum(w.starts for w in self._workers)

    def _lease(self, header: str, only: _Worker | None = None) -> _Worker:
        """Wait for an idle worker (or for `only`) and mark it busy."""
        with self._cond:
            while True:
                if self._closed:
                    raise LeanWorkerError("the checker is closed; create a new ReplChecker")
                idle = [w for w in self._workers if not w.busy and (only is None or w is only)]
                if idle:
                    warm = [w for w in idle if w.alive() and header in w.header_envs]
                    # Prefer a worker holding the header; else the one holding the fewest other headers.
                    worker = warm[0] if warm else min(idle, key=lambda w: len(w.header_envs))
                    worker.busy = True
                    return worker
                self._cond.wait()

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            worker.busy = False
            self._cond.notify()

    def _check_one(self, statement: str, header: str) -> CheckResult:
        worker = self._lease(header)
        try:
            return worker.check(statement, header)
        finally:
            self._release(worker)

    def _warm_one(self, header: str, target: _Worker) -> None:
        worker = self._lease(header, only=target)
        try:
            worker.header_env(header)
        finally:
            self._release(worker)

    async def warm_up(self, header: str) -> None:
        """Start every worker and elaborate `header` now, so the first batch does not wait for imports."""
        from autoformal.checking.header import validate_header

        header = validate_header(header)
        loop = asyncio.get_running_loop()
        cold = [w for w in self._workers if not (w.alive() and header in w.header_envs)]
        await asyncio.gather(*(loop.run_in_executor(self._executor, self._warm_one, header, w) for w in cold))

    async def _check_safe_statements(self, statements: list[str], header: str) -> list[CheckResult]:
        if self._closed:
            raise LeanWorkerError("the checker is closed; create a new ReplChecker")
        loop = asyncio.get_running_loop()
        futures = [loop.run_in_executor(self._executor, self._check_one, s, header) for s in statements]
        return list(await asyncio.gather(*futures))

    def _run_job(self, job: ProofJob, header: str) -> JobOutcome:
        worker = self._lease(header)
        try:
            return worker.run_job(job, header)
        finally:
            self._release(worker)

    async def _run_trusted_jobs(self, jobs: list[ProofJob], header: str) -> list[JobOutcome]:
        if self._closed:
            raise LeanWorkerError("the checker is closed; create a new ReplChecker")
        loop = asyncio.get_running_loop()
        futures = [loop.run_in_executor(self._executor, self._run_job, job, header) for job in jobs]
        return list(await asyncio.gather(*futures))

    def close(self) -> None:
        """Stop accepting work, kill every worker (in-flight statements come back `crashed`) and reap them."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        # Kill busy workers' processes directly (their threads then see EOF, kill and reap them); calling
        # `LeanServer.kill` here would race with those threads.
        import psutil

        for worker in self._workers:
            if worker.busy and (pid := worker.pid) is not None:
                with contextlib.suppress(psutil.Error):
                    for proc in [*psutil.Process(pid).children(recursive=True), psutil.Process(pid)]:
                        proc.kill()
        self._executor.shutdown(wait=True, cancel_futures=True)
        for worker in self._workers:
            worker.kill()
