"""The REPL pool under faults: fake REPL scripts that never answer, exit at once, print garbage or speak JSON
that is not the REPL's, and a REPL that breaks mid-batch. Each is launched by lean-interact exactly like the
real REPL (the fake replaces the built REPL in a stand-in project), and every count of processes comes from
the fakes' own start log, not from our bookkeeping."""

from __future__ import annotations

import shlex
import threading
import time
from pathlib import Path

import psutil
import pytest
from test_checking import make_checker  # the stand-in checker every checking test builds on

from autoformal.checking import CheckResult, CheckStatus, LeanWorkerError, ReplChecker
from autoformal.testing.standin_repl import StandinInstall, install_standin, read_log

GOOD = "theorem add_zero' (n : Nat) : n + 0 = n := sorry"
HANG = "theorem standin_fault_hang (n : Nat) : n = n := sorry"

# Fake REPL bodies (after the line that logs the start). Each is a way a REPL can be broken from birth.
FAKES = {
    "never_answers": "exec sleep 100000",  # keeps stdout open and reads nothing
    "exits_at_once": "echo 'fake: cannot load the environment' >&2; exit 1",
    "prints_garbage": "while read -r line; do echo 'this is not JSON'; echo; done",
    "non_repl_json": 'while read -r line; do [ -n "$line" ] && printf \'{"jsonrpc": "2.0", "id": 1}\\n\\n\'; done',
}


def install_fake(tmp_path: Path, body: str) -> tuple[StandinInstall, Path]:
    """A stand-in project whose REPL is `body`, logging one line per process start to the returned file."""
    install = install_standin(tmp_path / "proj")
    starts = tmp_path / "starts.log"
    install.repl.write_text(f"#!/bin/sh\necho $$ >> {shlex.quote(str(starts))}\n{body}\n", encoding="utf-8")
    return install, starts


def install_breaking_after(tmp_path: Path, healthy_starts: int) -> tuple[StandinInstall, Path]:
    """The stand-in REPL for its first `healthy_starts` processes; every later process exits at once."""
    install = install_standin(tmp_path / "proj", log_path=tmp_path / "requests.jsonl")
    real = install.repl.with_name("repl-healthy")
    install.repl.rename(real)
    starts = tmp_path / "starts.log"
    install.repl.write_text(
        f"#!/bin/sh\necho $$ >> {shlex.quote(str(starts))}\n"
        f'[ "$(wc -l < {shlex.quote(str(starts))})" -le {healthy_starts} ] || exit 1\n'
        f'exec {shlex.quote(str(real))} "$@"\n',
        encoding="utf-8",
    )
    install.repl.chmod(0o755)
    return install, starts


def start_count(starts: Path) -> int:
    return len(starts.read_text(encoding="utf-8").splitlines()) if starts.exists() else 0


def make_pool(install: StandinInstall, **overrides: object) -> ReplChecker:
    """Two workers, a statement timeout long enough to matter, a short header timeout, a budget of 3 starts."""
    settings: dict[str, object] = {
        "num_workers": 2,
        "timeout_s": 60.0,
        "header_timeout_s": 8.0,
        "max_start_failures": 3,
        **overrides,
    }
    return make_checker(install, **settings)


def wait_until(condition: object, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def live_children(pids: list[int]) -> dict[int, str]:
    children = {p.pid: p for p in psutil.Process().children(recursive=True)}
    return {pid: children[pid].status() for pid in pids if pid in children}


def logged_pids(starts: Path) -> list[int]:
    return [int(line) for line in starts.read_text(encoding="utf-8").split()] if starts.exists() else []


# ----------------------------------------------------------------------------------- defect 1: close()


@pytest.mark.parametrize("header", ["", "open Nat"])
def test_close_during_header_retries_returns_fast_and_starts_nothing(tmp_path: Path, header: str) -> None:
    install, starts = install_fake(tmp_path, FAKES["never_answers"])
    # With a 30 s header timeout, a close() that waited for the header (as it did) would take 30 s or more.
    checker = make_pool(install, header_timeout_s=30.0)
    box: dict[str, BaseException | list[CheckResult]] = {}

    def run() -> None:
        try:
            box["result"] = checker.check_sync([GOOD] * 6, header)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    wait_until(lambda: start_count(starts) == 2)  # both workers are waiting for their header's answer
    started = time.monotonic()
    checker.close()
    close_s = time.monotonic() - started
    thread.join(timeout=10)
    at_close = start_count(starts)
    time.sleep(1.5)  # long enough for a retry loop that ignored the close to spawn again
    # Reaping runs lean-interact's `gc.collect()` per worker, which takes seconds in a big, loaded process.
    assert close_s < 10, f"close() took {close_s:.1f} s"
    assert not thread.is_alive()
    assert start_count(starts) == at_close == 2
    results = box["result"]
    assert isinstance(results, list) and [r.status for r in results] == [CheckStatus.CRASHED] * 6
    assert all("closed" in (r.detail or "") for r in results)
    assert live_children(logged_pids(starts)) == {}


def test_close_of_an_idle_checker_and_twice(tmp_path: Path) -> None:
    install = install_standin(tmp_path / "proj")
    checker = make_pool(install)
    assert checker.check_sync([GOOD], "")[0].ok
    pids = checker.worker_pids
    started = time.monotonic()
    checker.close()
    checker.close()
    assert time.monotonic() - started < 10
    assert live_children(pids) == {}
    with pytest.raises(LeanWorkerError, match="closed"):
        checker.check_sync([GOOD], "")


# ----------------------------------------------------------------------------------- defect 2: fail fast


@pytest.mark.parametrize("header", ["", "-- only a comment", "open Nat"])
@pytest.mark.parametrize("fake", sorted(FAKES))
def test_a_broken_repl_fails_the_batch_once_within_the_start_budget(tmp_path: Path, fake: str, header: str) -> None:
    install, starts = install_fake(tmp_path, FAKES[fake])
    with make_pool(install, header_timeout_s=1.0) as checker:
        started = time.monotonic()
        with pytest.raises(LeanWorkerError, match="3 times in a row") as info:
            checker.check_sync([GOOD] * 12, header)
        elapsed = time.monotonic() - started
    assert start_count(starts) <= 3  # across both workers, not per worker or per statement
    assert elapsed < 20  # 3 header timeouts of 1 s plus reaping, with room for a loaded machine
    assert "lake env <repl>" in str(info.value)  # the fix is named
    assert live_children(logged_pids(starts)) == {}


def test_the_start_budget_resets_after_a_good_start(tmp_path: Path) -> None:
    # One crashing statement per batch costs a restart, never the budget: the restart elaborates its header.
    install = install_standin(tmp_path / "proj", log_path=tmp_path / "log.jsonl")
    crash = "theorem standin_fault_crash (n : Nat) : n = n := sorry"
    with make_pool(install, num_workers=1, max_start_failures=2) as checker:
        for _ in range(4):
            results = checker.check_sync([GOOD, crash, GOOD], "")
            assert [r.status for r in results] == [CheckStatus.OK, CheckStatus.CRASHED, CheckStatus.OK]
        assert checker.worker_starts == 5


# ----------------------------------------------------------------------------------- defect 3: cancellation


def test_a_failed_batch_cancels_its_remaining_work(tmp_path: Path) -> None:
    # Two healthy processes, then the REPL breaks. Worker A hangs on a statement for up to 60 s; worker B is
    # recycled after each statement and can't restart, so the batch fails. It must not wait for A's statement,
    # and A's REPL and thread must be stopped, not left running the rest of the batch.
    install, starts = install_breaking_after(tmp_path, healthy_starts=2)
    statements = [HANG, *([GOOD] * 10)]
    with make_pool(install, recycle_after=1) as checker:
        started = time.monotonic()
        with pytest.raises(LeanWorkerError, match="in a row"):
            checker.check_sync(statements, "")
        elapsed = time.monotonic() - started
        assert not any(w.busy for w in checker._workers)  # no thread works for the failed batch any more
        assert checker.worker_pids == []
        at_failure = start_count(starts)
        time.sleep(1.0)
        assert start_count(starts) == at_failure <= 2 + 3
    assert elapsed < 15, f"the failed batch took {elapsed:.1f} s (it waited for the hung statement)"
    assert live_children(logged_pids(starts)) == {}
    requests = [e["request"]["cmd"] for e in read_log(tmp_path / "requests.jsonl") if "request" in e]
    assert requests.count(GOOD) < 10  # the rest of the batch was dropped, not checked after the failure


async def test_a_cancelled_caller_cancels_the_batch(tmp_path: Path) -> None:
    import asyncio

    install = install_standin(tmp_path / "proj", log_path=tmp_path / "log.jsonl")
    async with make_pool(install) as checker:
        task = asyncio.create_task(checker.check([HANG, HANG, GOOD, GOOD], ""))
        await asyncio.to_thread(
            wait_until,
            lambda: sum("standin_fault_hang" in str(e.get("request")) for e in read_log(tmp_path / "log.jsonl")) == 2,
        )
        pids = checker.worker_pids
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 10
        assert live_children(pids) == {}
        assert [r.ok for r in await checker.check([GOOD, GOOD], "")] == [True, True]  # the pool recovers
