"""ReplChecker on real Lean. Runs when `lake` is found (PATH or ~/.elan/bin) and AUTOFORMAL_LEAN_PROJECT
points at a Lean project; skipped with the reason otherwise (see the `real_lean` fixture)."""

from __future__ import annotations

import json
import re
import shlex
import threading
import time
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from autoformal.checking import CheckStatus, LeanWorkerError, ReplChecker, ReplCheckerConfig
from autoformal.cli.app import app
from autoformal.syntax import SafetyVerdict, check_safe

pytestmark = pytest.mark.lean


@pytest.fixture(scope="module")
def mathlib_header(real_lean: ReplCheckerConfig) -> str:
    assert real_lean.project_dir is not None
    if not (real_lean.project_dir / ".lake" / "packages" / "mathlib").is_dir():
        pytest.skip(f"{real_lean.project_dir} does not depend on Mathlib (`lake exe cache get` after adding it)")
    return "import Mathlib\nopen Real"


def test_core_statements(real_lean: ReplCheckerConfig) -> None:
    statements = [
        "theorem base_ok (n : Nat) : n + 0 = n := sorry",
        "theorem parse_error (n : Nat) : n + = n := sorry",
        'theorem type_error (n : Nat) : n + "a" = n := sorry',
        "theorem multi_line (a b : Nat)\n    (h : a ≤ b) :\n    a < b + nonexistent_constant := sorry",
    ]
    # Our grammar rejects the parse error before Lean; let that one statement through to see Lean's answer.
    def gate(text: str) -> SafetyVerdict:
        return SafetyVerdict(ok=True, reason="test") if text == statements[1] else check_safe(text)

    with ReplChecker(real_lean, safety_gate=gate) as checker:
        results = checker.check_sync(statements, "")
        pids = checker.worker_pids
    assert [r.status for r in results] == [
        CheckStatus.OK,
        CheckStatus.ERROR,
        CheckStatus.ERROR,
        CheckStatus.ERROR,
    ]
    assert [m.line for m in results[1].messages if m.is_error] == [1]
    assert [m.line for m in results[3].messages if m.is_error] == [3]  # relative to the statement
    children = {p.pid for p in psutil.Process().children(recursive=True)}
    assert not children & set(pids)


def test_mathlib_statements(real_lean: ReplCheckerConfig, mathlib_header: str) -> None:
    statements = [
        "theorem sqrt_sq' (x : ℝ) (h : 0 ≤ x) : Real.sqrt (x ^ 2) = x := sorry",
        "theorem bogus (x : ℝ) : Real.not_a_function x = x := sorry",
    ]
    with ReplChecker(real_lean) as checker:
        results = checker.check_sync(statements, mathlib_header)
    assert [r.status for r in results] == [CheckStatus.OK, CheckStatus.ERROR]


def test_empty_and_comment_only_headers_reuse_one_environment(real_lean: ReplCheckerConfig) -> None:
    statements = [f"theorem reuse_{i} (n : Nat) : n + {i} = {i} + n := sorry" for i in range(6)]
    with ReplChecker(real_lean) as checker:
        for header in ("", "-- only a comment\n\n"):
            assert all(r.ok for r in checker.check_sync(statements, header))
        (worker,) = checker._workers
        assert worker.header_envs == {"": 0} and worker.starts == 1  # one header command, env 0 reused


def readme_tactic_sorry_examples() -> str:
    """The `lean` block of the README's "Checking statements with Lean" section."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Checking statements with Lean", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```lean\n(.*?)```", section, re.S)
    return block


def test_readme_by_sorry_examples_elaborate_through_the_cli(real_lean: ReplCheckerConfig, tmp_path: Path) -> None:
    examples = readme_tactic_sorry_examples()
    assert examples.count(":= by sorry") >= 2
    source, header = tmp_path / "statements.lean", tmp_path / "core.lean"
    source.write_text(examples, encoding="utf-8")
    header.write_text("", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(source), "--header", str(header), "--json", "--workers", "1"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["ok"] * examples.count(":= by sorry")
    assert all(r["statement"].endswith(":= by sorry") for r in rows)  # reported as the user wrote them


def test_recycling_keeps_every_check(real_lean: ReplCheckerConfig) -> None:
    statements = [
        "theorem r0 (n : Nat) : n + 0 = n := sorry",
        'theorem r1 (n : Nat) : n + "a" = n := sorry',
        "theorem r2 (l : List Nat) : (l ++ l).length = 2 * l.length := sorry",
    ] * 3
    expected = [CheckStatus.OK, CheckStatus.ERROR, CheckStatus.OK] * 3
    by_count = real_lean.model_copy(update={"recycle_after": 4})
    with ReplChecker(by_count) as checker:
        assert [r.status for r in checker.check_sync(statements, "")] == expected
        assert checker.worker_starts == 3  # after statements 4 and 8
    by_rss = real_lean.model_copy(update={"max_rss_mb": 1.0})  # any live REPL is above 1 MB
    with ReplChecker(by_rss) as checker:
        assert [r.status for r in checker.check_sync(statements[:4], "")] == expected[:4]
        assert checker.worker_starts == 4


@pytest.mark.parametrize("header", ["", "open Nat"])
def test_a_repl_that_cannot_start_fails_once_within_the_budget(real_lean: ReplCheckerConfig, header: str) -> None:
    # 80 MB of address space is too little for this Lean to load its prelude: it dies with std::bad_alloc.
    broken = real_lean.model_copy(update={"memory_limit_mb": 80, "num_workers": 2, "max_start_failures": 3})
    with ReplChecker(broken) as checker:
        with pytest.raises(LeanWorkerError, match="3 times in a row"):
            checker.check_sync([f"theorem b{i} : True := sorry" for i in range(12)], header)
        assert checker.worker_starts <= 3


def test_close_mid_batch_returns_at_once_and_leaves_nothing(real_lean: ReplCheckerConfig) -> None:
    config = real_lean.model_copy(update={"num_workers": 2})
    checker = ReplChecker(config)
    box: dict[str, object] = {}
    statements = [f"theorem c{i} (n : Nat) : n + {i} = {i} + n := sorry" for i in range(400)]
    thread = threading.Thread(target=lambda: box.setdefault("r", _catch(checker.check_sync, statements, "")))
    thread.start()
    deadline = time.monotonic() + 30
    while len(checker.worker_pids) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    pids, started = checker.worker_pids, time.monotonic()
    checker.close()
    assert time.monotonic() - started < 10
    thread.join(timeout=10)
    assert not thread.is_alive()
    starts = checker.worker_starts
    time.sleep(1)
    assert checker.worker_starts == starts
    results = box["r"]
    assert isinstance(results, list) and len(results) == len(statements)
    assert any(r.status is CheckStatus.CRASHED and "closed" in (r.detail or "") for r in results)
    children = {p.pid for p in psutil.Process().children(recursive=True)}
    assert not children & set(pids)


def test_a_failed_batch_stops_the_other_worker(real_lean: ReplCheckerConfig, tmp_path: Path) -> None:
    # The real REPL behind a wrapper that lets two processes start, then fails every later start. With
    # recycling after each statement the batch fails; nothing may keep running or start afterwards.
    assert real_lean.project_dir is not None
    repl_dir = tmp_path / "repl"
    (repl_dir / ".lake" / "build" / "bin").mkdir(parents=True)
    (repl_dir / "lean-toolchain").write_text((real_lean.project_dir / "lean-toolchain").read_text())
    real_repl = real_lean.project_dir / ".lake" / "build" / "bin" / "repl"
    log = tmp_path / "starts.log"
    wrapper = repl_dir / ".lake" / "build" / "bin" / "repl"
    wrapper.write_text(
        f"#!/bin/sh\necho $$ >> {shlex.quote(str(log))}\n"
        f'[ "$(wc -l < {shlex.quote(str(log))})" -le 2 ] || exit 1\n'
        f'exec {shlex.quote(str(real_repl))} "$@"\n'
    )
    wrapper.chmod(0o755)
    config = real_lean.model_copy(update={"repl_dir": repl_dir, "num_workers": 2, "recycle_after": 1})
    with ReplChecker(config) as checker:
        with pytest.raises(LeanWorkerError, match="in a row"):
            checker.check_sync([f"theorem f{i} : True := sorry" for i in range(40)], "")
        assert not any(w.busy for w in checker._workers) and checker.worker_pids == []
        starts = len(log.read_text().split())
        time.sleep(1)
        assert len(log.read_text().split()) == starts <= 2 + 3


@pytest.fixture(scope="module")
def open_carries_over(real_lean: ReplCheckerConfig) -> None:
    """Skip unless this Lean's REPL keeps a header's `open` for later commands (current REPLs do; the 2021
    core build shipped in ../shared/lean does not). Detected by asking the REPL, not from a version string."""
    with ReplChecker(real_lean) as checker:
        (probe,) = checker.check_sync(["theorem open_probe : succ 0 = 1 := sorry"], "open Nat")
    if not probe.ok:
        pytest.skip("this Lean's REPL does not carry `open` from the header over to later commands")


def test_header_open_applies_to_statements(real_lean: ReplCheckerConfig, open_carries_over: None) -> None:
    with ReplChecker(real_lean) as checker:
        results = checker.check_sync(["theorem o1 (n : Nat) : succ n = n + 1 := sorry", GOOD_UNDER_NAT], "open Nat")
    assert [r.ok for r in results] == [True, True]


GOOD_UNDER_NAT = "theorem o2 (n : Nat) : n ≤ succ n := sorry"


def _catch(call: object, *args: object) -> object:
    try:
        return call(*args)  # type: ignore[operator]
    except Exception as exc:
        return exc
