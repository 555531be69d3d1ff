"""ReplChecker against the stand-in REPL, launched by lean-interact exactly as it launches the real one.

Every assertion about what Lean saw is made on the stand-in's own request log, not on our bookkeeping."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import psutil
import pytest

from autoformal.checking import (
    CheckResult,
    CheckStatus,
    LeanChecker,
    LeanNotFoundError,
    LeanWorkerError,
    ReplChecker,
    ReplCheckerConfig,
    UnsafeHeaderError,
    build_checker,
    validate_header,
)
from autoformal.checking.models import LeanMessage, messages_from_repl
from autoformal.checking.sorry import with_term_sorry
from autoformal.testing.standin_repl import StandinInstall, install_standin, read_log

HEADER = "import Mathlib\nopen Real"
GOOD = "theorem add_zero' (n : Nat) : n + 0 = n := sorry"
TYPE_ERROR = 'theorem type_error (n : Nat) : n + "a" = n := sorry'  # elaborates with an error


@pytest.fixture
def standin(tmp_path: Path) -> StandinInstall:
    return install_standin(tmp_path / "proj", log_path=tmp_path / "requests.jsonl", oom_cap_mb=1024)


def make_checker(install: StandinInstall, **overrides: object) -> ReplChecker:
    settings: dict[str, object] = {
        "project_dir": install.directory,
        "repl_dir": install.directory,
        "lake_path": install.lake,
        "num_workers": 1,
        "timeout_s": 2.0,
        "header_timeout_s": 10.0,
        **overrides,
    }
    return ReplChecker(ReplCheckerConfig(**settings))  # type: ignore[arg-type]


def requests_seen(install: StandinInstall) -> list[dict[str, object]]:
    assert install.log_path is not None
    return [e["request"] for e in read_log(install.log_path) if "request" in e]


def started_pids(install: StandinInstall) -> list[int]:
    assert install.log_path is not None
    return [e["pid"] for e in read_log(install.log_path) if e.get("event") == "start"]


def assert_no_leftover_processes(pids: list[int]) -> None:
    """None of the worker processes is still a child of ours: not running, not a zombie."""
    children = {p.pid: p for p in psutil.Process().children(recursive=True)}
    leftovers = {pid: children[pid].status() for pid in pids if pid in children}
    assert leftovers == {}, f"worker processes left behind (pid: status): {leftovers}"


# ------------------------------------------------------------------------------------------- models, header


def test_ok_means_no_error_message() -> None:
    warning = LeanMessage(severity="warning", line=1, column=3, text="declaration uses 'sorry'")
    error = LeanMessage(severity="error", line=1, column=3, text="expected term")
    assert CheckResult.from_messages("s", [warning], [], 0.1).status is CheckStatus.OK
    failed = CheckResult.from_messages("s", [warning, error], [], 0.1)
    assert (failed.status, failed.ok) == (CheckStatus.ERROR, False)


def test_repl_messages_are_mapped_back_past_the_header() -> None:
    raw = [
        {
            "severity": "error",
            "pos": {"line": 5, "column": 2},
            "endPos": {"line": 6, "column": 1},
            "data": "x",
        }
    ]
    (m,) = messages_from_repl(raw, line_offset=3)
    assert (m.line, m.column, m.end_line, m.end_column, m.text) == (2, 2, 3, 1, "x")
    (m,) = messages_from_repl([{**raw[0], "endPos": None}])
    assert (m.line, m.end_line) == (5, None)


def test_header_allow_list() -> None:
    header = "import Mathlib\nimport Aesop\n-- comment\n\nset_option maxHeartbeats 400000\nopen BigOperators Real"
    assert validate_header(header) == (
        "import Mathlib\nimport Aesop\nset_option maxHeartbeats 400000\nopen BigOperators Real"
    )
    for bad in [
        "import Mathlib\n#eval 1",
        "import Mathlib\nset_option debug.skipKernelTC true",
        "open Real\nimport Mathlib",
        'macro "x" : term => `(1)',
        "import Mathlib\ntheorem t : True := sorry",
    ]:
        with pytest.raises(UnsafeHeaderError):
            validate_header(bad)


def test_missing_lean_names_the_setup_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOFORMAL_LEAN_PROJECT", raising=False)
    with pytest.raises(LeanNotFoundError) as info:
        ReplChecker(ReplCheckerConfig(lake_path=None))
    text = str(info.value)
    for step in ("elan", "lake new myproj math", "lake exe cache get", "AUTOFORMAL_LEAN_PROJECT"):
        assert step in text
    with pytest.raises(LeanNotFoundError, match="AUTOFORMAL_LEAN_PROJECT"):
        ReplChecker(ReplCheckerConfig(lake_path=Path("/bin/true"), project_dir=None))


# ------------------------------------------------------------------------------------------- checking


def test_results_in_input_order_with_positions(standin: StandinInstall) -> None:
    statements = [GOOD, TYPE_ERROR, "theorem t2 (l : List Nat) : l.length = l.length := by sorry"]
    with make_checker(standin, num_workers=2) as checker:
        assert isinstance(checker, LeanChecker)
        results = checker.check_sync(statements, HEADER)
    assert [r.statement for r in results] == statements
    assert [r.status for r in results] == [CheckStatus.OK, CheckStatus.ERROR, CheckStatus.OK]
    error = results[1].messages[0]
    assert (error.severity, error.line, error.column, error.end_line, error.end_column) == ("error", 1, 31, 1, 38)
    warning = results[0].messages[0]
    assert (warning.severity, warning.line, warning.column, warning.end_column) == ("warning", 1, 43, 48)
    assert results[2].sorries and results[2].sorries[0].goal.startswith("⊢")
    assert all(r.elapsed_s > 0 for r in results)


def test_replays_real_transcript_answers(tmp_path: Path, shared_lean: Path) -> None:
    # The rules know nothing of `Nat.fooBar`; only the recorded real answer makes this an error.
    install = install_standin(tmp_path / "proj", transcripts=shared_lean, log_path=tmp_path / "log.jsonl")
    statement = "theorem unknown_const (n : Nat) : Nat.fooBar n = n := sorry"
    with make_checker(install) as checker:
        (result,) = checker.check_sync([statement], "")
    assert result.status is CheckStatus.ERROR
    assert [(m.severity, m.line, m.column, m.end_column) for m in result.messages] == [
        ("error", 1, 34, 46),
        ("warning", 1, 54, 59),
    ]


def test_header_elaborated_once_per_worker_and_reused(standin: StandinInstall) -> None:
    statements = [f"theorem t{i} (n : Nat) : n + {i} = {i} + n := sorry" for i in range(12)]
    with make_checker(standin, num_workers=2) as checker:
        assert all(r.ok for r in checker.check_sync(statements, HEADER))
        assert all(r.ok for r in checker.check_sync(statements[:4], HEADER))
    requests = requests_seen(standin)
    headers = [r for r in requests if "env" not in r]
    assert 1 <= len(headers) <= 2 and all(r["cmd"] == HEADER for r in headers)
    checked = [r for r in requests if "env" in r]
    assert len(checked) == 16 and {r["env"] for r in checked} == {0}  # each process's header env
    assert len(started_pids(standin)) == len(headers)


def test_statement_routed_to_the_worker_holding_its_header(standin: StandinInstall) -> None:
    other = "import Mathlib\nopen Nat"
    with make_checker(standin, num_workers=2) as checker:
        checker.check_sync([GOOD], HEADER)
        checker.check_sync([GOOD], other)
        for header in (HEADER, other, HEADER, other):
            assert checker.check_sync([GOOD], header)[0].ok
    assert standin.log_path is not None
    log = [e for e in read_log(standin.log_path) if "request" in e]
    header_owner = {e["request"]["cmd"]: e["pid"] for e in log if "env" not in e["request"]}
    assert set(header_owner) == {HEADER, other} and len(set(header_owner.values())) == 2
    # Each statement ran on the process that elaborated its header (env 0 there is that header).
    for e in log:
        if "env" in e["request"]:
            assert e["request"]["env"] == 0
    assert len([e for e in log if "env" not in e["request"]]) == 2  # no header was elaborated twice


async def test_warm_up_elaborates_the_header_on_every_worker(standin: StandinInstall) -> None:
    async with make_checker(standin, num_workers=2) as checker:
        await checker.check([GOOD], HEADER)  # one worker warm already
        await checker.warm_up(HEADER)
        assert len(checker.worker_pids) == 2
        before = len(requests_seen(standin))
        results = await checker.check([GOOD] * 6, HEADER)
    assert all(r.ok for r in results)
    headers = [e for e in read_log(standin.log_path or "") if "request" in e and "env" not in e["request"]]
    assert len({e["pid"] for e in headers}) == 2
    assert all("env" in r for r in requests_seen(standin)[before:])  # no header sent during the batch


async def test_async_batches_with_different_headers_share_the_pool(standin: StandinInstall) -> None:
    async with make_checker(standin, num_workers=2) as checker:
        a, b = await asyncio.gather(
            checker.check([GOOD, TYPE_ERROR] * 3, HEADER),
            checker.check([TYPE_ERROR, GOOD] * 3, "open Nat"),
        )
    assert [r.ok for r in a] == [True, False] * 3
    assert [r.ok for r in b] == [False, True] * 3


async def test_check_sync_works_inside_a_running_event_loop(standin: StandinInstall) -> None:
    with make_checker(standin) as checker:  # e.g. called from a notebook cell
        assert [r.ok for r in checker.check_sync([GOOD, TYPE_ERROR], HEADER)] == [True, False]


# ------------------------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("marker", "status", "detail"),
    [
        ("hang", CheckStatus.TIMEOUT, "no answer within"),
        ("crash", CheckStatus.CRASHED, "INTERNAL PANIC"),
        ("garbage", CheckStatus.CRASHED, "outside the protocol"),
        ("partial", CheckStatus.CRASHED, "outside the protocol"),
    ],
)
def test_a_faulty_worker_costs_exactly_its_candidate(
    standin: StandinInstall, marker: str, status: CheckStatus, detail: str
) -> None:
    faulty = f"theorem standin_fault_{marker} (n : Nat) : n = n := sorry"
    statements = [GOOD, faulty, GOOD, TYPE_ERROR, GOOD]
    with make_checker(standin, num_workers=1, timeout_s=2.0) as checker:
        started = time.monotonic()
        results = checker.check_sync(statements, HEADER)
        elapsed = time.monotonic() - started
        pids = started_pids(standin)
    assert [r.status for r in results] == [
        CheckStatus.OK,
        status,
        CheckStatus.OK,
        CheckStatus.ERROR,
        CheckStatus.OK,
    ]
    assert detail in (results[1].detail or "")
    assert len(pids) == 2  # one restart, and the header was elaborated again on it
    assert sum(1 for r in requests_seen(standin) if "env" not in r) == 2
    assert elapsed < 10
    assert_no_leftover_processes(pids)


def test_memory_blow_up_trips_rlimit_as_and_costs_one_candidate(standin: StandinInstall) -> None:
    hog = "theorem standin_fault_oom (n : Nat) : n = n := sorry"
    # The stand-in touches every page it allocates, so keep the limit small: the test should not need
    # hundreds of MB of real memory on a shared machine.
    with make_checker(standin, memory_limit_mb=160, timeout_s=20.0) as checker:
        results = checker.check_sync([GOOD, hog, GOOD], HEADER)
    assert [r.status for r in results] == [CheckStatus.OK, CheckStatus.CRASHED, CheckStatus.OK]
    assert "out of memory" in (results[1].detail or "")
    assert_no_leftover_processes(started_pids(standin))


def test_without_a_memory_limit_the_same_allocation_succeeds(standin: StandinInstall, tmp_path: Path) -> None:
    # The control for the test above: the stand-in really allocates (here 128 MB) and only RLIMIT_AS stops it.
    install = install_standin(tmp_path / "p2", log_path=tmp_path / "l2.jsonl", oom_cap_mb=128)
    with make_checker(install, timeout_s=20.0) as checker:
        (result,) = checker.check_sync(["theorem standin_fault_oom (n : Nat) : n = n := sorry"], HEADER)
    assert result.status is CheckStatus.OK


def test_worker_recycled_after_n_statements(standin: StandinInstall) -> None:
    statements = [f"theorem r{i} : {i} = {i} := sorry" for i in range(7)]
    with make_checker(standin, recycle_after=3) as checker:
        assert all(r.ok for r in checker.check_sync(statements, HEADER))
        assert checker.worker_starts == 3
    assert len(started_pids(standin)) == 3
    assert sum(1 for r in requests_seen(standin) if "env" not in r) == 3


def test_worker_recycled_past_rss_threshold(standin: StandinInstall) -> None:
    bloat = "theorem standin_fault_bloat : True := sorry"
    with make_checker(standin, max_rss_mb=48) as checker:
        results = checker.check_sync([GOOD, bloat, GOOD, GOOD], HEADER)
    assert all(r.ok for r in results)
    log = [e for e in read_log(standin.log_path or "") if "request" in e and "env" in e["request"]]
    pids = [e["pid"] for e in log]
    assert pids[0] == pids[1] != pids[2] == pids[3]  # restarted right after the 64 MB statement


def test_restarts_are_bounded(tmp_path: Path) -> None:
    install = install_standin(tmp_path / "proj", log_path=tmp_path / "log.jsonl", fault="crash_on_start")
    with (
        make_checker(install, max_start_failures=3) as checker,
        pytest.raises(LeanWorkerError, match="3 times"),
    ):
        checker.check_sync([GOOD], HEADER)
    assert len(started_pids(install)) == 3
    assert_no_leftover_processes(started_pids(install))


def test_a_hanging_header_exhausts_the_restart_budget(standin: StandinInstall) -> None:
    with (
        make_checker(standin, header_timeout_s=0.5, max_start_failures=2) as checker,
        pytest.raises(LeanWorkerError, match="2 times"),
    ):
        checker.check_sync([GOOD], "open standin_fault_hang")
    assert len(started_pids(standin)) == 2
    assert_no_leftover_processes(started_pids(standin))


def test_unknown_environment_reelaborates_the_header_once(standin: StandinInstall) -> None:
    with make_checker(standin) as checker:
        assert checker.check_sync([GOOD], HEADER)[0].ok
        checker._workers[0].header_envs[HEADER] = 99  # simulate lost bookkeeping
        (result,) = checker.check_sync([GOOD], HEADER)
    assert result.ok
    sent = requests_seen(standin)
    assert [r.get("env") for r in sent] == [None, 0, 99, None, 2]  # refused, header again, retried


def test_close_kills_a_hung_worker_and_leaves_no_zombies(standin: StandinInstall) -> None:
    checker = make_checker(standin, num_workers=2, timeout_s=60.0)
    box: dict[str, list[CheckResult]] = {}
    thread = threading.Thread(
        target=lambda: box.setdefault(
            "r", checker.check_sync([GOOD, "theorem standin_fault_hang : True := sorry"], HEADER)
        )
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not any("standin_fault_hang" in str(r.get("cmd")) for r in requests_seen(standin)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    checker.close()
    thread.join(timeout=10)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert box["r"][1].status is CheckStatus.CRASHED
    assert_no_leftover_processes(started_pids(standin))
    with pytest.raises(LeanWorkerError, match="closed"):
        checker.check_sync([GOOD], HEADER)


# ------------------------------------------------------------------------------------------- safety gate


def test_unsafe_statements_never_reach_the_repl(standin: StandinInstall) -> None:
    unsafe = [
        '#eval IO.println "pwned"',
        "theorem t : True := by\n  run_tac pure ()\n#eval 1",
        'run_cmd Lean.logInfo "x"',
        'macro "evil" : term => `(1)\ntheorem t : True := sorry',
        "import Mathlib\ntheorem t : True := sorry",
        "theorem a : True := sorry\ntheorem b : False := sorry",
    ]
    with make_checker(standin) as checker:
        results = checker.check_sync([*unsafe, GOOD], HEADER)
    assert [r.status for r in results[:-1]] == [CheckStatus.REJECTED_UNSAFE] * len(unsafe)
    assert all(r.detail for r in results[:-1])
    assert results[-1].ok
    sent = [r["cmd"] for r in requests_seen(standin)]
    assert sent == [HEADER, GOOD]


def test_unsafe_header_is_refused_before_any_process_starts(standin: StandinInstall) -> None:
    with make_checker(standin) as checker, pytest.raises(UnsafeHeaderError):
        checker.check_sync([GOOD], "import Mathlib\n#eval 1")
    assert started_pids(standin) == []


def test_build_checker_gives_a_repl_checker(standin: StandinInstall) -> None:
    config = ReplCheckerConfig(project_dir=standin.directory, repl_dir=standin.directory, lake_path=standin.lake)
    with build_checker(config) as checker:
        assert isinstance(checker, ReplChecker)
        assert checker.check_sync([GOOD], HEADER)[0].ok


# ------------------------------------------------------------------------------------------- proof form


def test_with_term_sorry_keeps_every_position() -> None:
    assert with_term_sorry("theorem t : True := by sorry") == "theorem t : True :=    sorry"
    multi_line = "theorem t : True := by\n  sorry  -- later\n"
    assert with_term_sorry(multi_line) == "theorem t : True :=   \n  sorry  -- later\n"
    commented = "theorem t : True := /- c -/ by /- d -/ sorry"
    assert with_term_sorry(commented) == "theorem t : True := /- c -/    /- d -/ sorry"
    for unchanged in ["theorem t : True := sorry", "theorem t : True := by simp", "theorem by_sorry : True := sorry"]:
        assert with_term_sorry(unchanged) == unchanged


def test_every_statement_reaches_lean_with_the_term_sorry(standin: StandinInstall) -> None:
    tactic = "theorem t (n : Nat) :\n    n + 0 = n := by\n  sorry"
    with make_checker(standin) as checker:
        (result,) = checker.check_sync([tactic], HEADER)
    assert result.ok and result.statement == tactic  # the caller's text, as given
    sent = [r["cmd"] for r in requests_seen(standin) if "env" in r]
    assert sent == ["theorem t (n : Nat) :\n    n + 0 = n :=   \n  sorry"]
    (warning,) = result.messages
    assert (warning.line, warning.column) == (3, 2)  # where `sorry` is in the caller's text
