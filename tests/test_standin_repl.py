"""The stand-in REPL speaks the real REPL's protocol: checked byte-for-byte against a real transcript where
one is available, and rule by rule otherwise."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from autoformal.testing.standin_repl import StandinInstall, install_standin, read_log


@pytest.fixture
def standin(tmp_path: Path) -> StandinInstall:
    return install_standin(tmp_path / "proj", log_path=tmp_path / "log.jsonl")


def talk(install: StandinInstall, stdin: str, timeout: float = 20) -> tuple[list[dict[str, object]], int]:
    """Run `lake env <repl>` in the project (as lean-interact does) on raw stdin: (replies, exit code)."""
    proc = subprocess.run(
        [str(install.lake), "env", str(install.repl)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=install.directory,
        timeout=timeout,
    )
    replies = [json.loads(block) for block in proc.stdout.split("\n\n") if block.strip()]
    return replies, proc.returncode


def requests(*commands: dict[str, object]) -> str:
    return "".join(json.dumps(c, ensure_ascii=False) + "\n\n" for c in commands)


def test_replays_the_real_transcript_exactly(tmp_path: Path, shared_lean: Path) -> None:
    install = install_standin(tmp_path / "proj", transcripts=shared_lean)
    stdin = (shared_lean / "transcript_core_2021.requests.txt").read_text(encoding="utf-8")
    replies, code = talk(install, stdin)
    raw = (shared_lean / "transcript_core_2021.raw.txt").read_text(encoding="utf-8")
    expected = [json.loads(block) for block in raw.split("\n\n") if block.strip()]
    assert code == 0
    assert replies == expected


def test_protocol_basics(standin: StandinInstall) -> None:
    replies, code = talk(
        standin,
        requests(
            {"cmd": "import Mathlib\nopen Real"},
            {"cmd": "theorem a (n : Nat) : n + 0 = n := sorry", "env": 0},
            {"cmd": "theorem a (n : Nat) : n = n := sorry", "env": 1},  # env 1 already has `a`
            {"cmd": "theorem a (n : Nat) : n = n := sorry", "env": 0},  # env 0 does not
            {"cmd": "theorem b : True := sorry", "env": 42},
            {"cmd": "import Foo\ntheorem c : True := sorry", "env": 0},
        ),
    )
    assert code == 0
    assert [r.get("env") for r in replies] == [0, 1, 2, 3, None, 4]
    assert "messages" not in replies[0] and "sorries" not in replies[0]  # empty lists are left out
    (warning,) = replies[1]["messages"]  # type: ignore[misc]
    assert warning == {
        "severity": "warning",
        "pos": {"line": 1, "column": 35},
        "endPos": {"line": 1, "column": 40},
        "data": "declaration uses 'sorry'",
    }
    assert replies[2]["messages"][0]["severity"] == "error"  # type: ignore[index]
    assert replies[2]["messages"][0]["pos"] == {"line": 1, "column": 8}  # type: ignore[index]
    assert all(m["severity"] != "error" for m in replies[3]["messages"])  # type: ignore[union-attr]
    assert replies[4] == {"message": "Unknown environment."}
    assert replies[5]["messages"][0]["pos"] == {"line": 1, "column": 0}  # type: ignore[index]


@pytest.mark.parametrize(
    ("cmd", "line", "column"),
    [
        ("theorem p (n : Nat) : n + = n := sorry", 1, 26),  # operator without operand: "expected term"
        ("theorem p (n : Nat) :\n  (n + 1 = n := sorry", 2, 21),  # unclosed bracket: error at the end
        ("theorem p (n : Nat) : n + 1) = n := sorry", 1, 27),  # stray closer
        ("theorem p (n : Nat) : n = n", 1, 27),  # no `:=`
    ],
)
def test_rule_errors_at_plausible_positions(standin: StandinInstall, cmd: str, line: int, column: int) -> None:
    replies, _ = talk(standin, requests({"cmd": "import Mathlib"}, {"cmd": cmd, "env": 0}))
    errors = [m for m in replies[1]["messages"] if m["severity"] == "error"]  # type: ignore[union-attr]
    assert errors and errors[0]["pos"] == {"line": line, "column": column}


def test_tactic_sorry_reports_its_goal(standin: StandinInstall) -> None:
    replies, _ = talk(standin, requests({"cmd": "theorem p (a b : Nat) : a + b = b + a := by sorry"}))
    (sorry,) = replies[0]["sorries"]  # type: ignore[misc]
    assert sorry["goal"] == "⊢ a + b = b + a" and sorry["pos"] == {"line": 1, "column": 44}


def test_strings_and_comments_are_not_code(standin: StandinInstall) -> None:
    cmd = 'theorem s (x : String) : x ++ "(+ =" = x -- a + = (\n  := sorry'
    replies, _ = talk(standin, requests({"cmd": cmd}))
    assert all(m["severity"] != "error" for m in replies[0].get("messages", []))  # type: ignore[union-attr]


def test_eof_and_empty_request_end_the_process(standin: StandinInstall) -> None:
    assert talk(standin, "") == ([], 0)
    replies, code = talk(standin, requests({"cmd": "theorem q : True := sorry"}) + "\n\n" + requests({"cmd": "x"}))
    assert code == 0 and len(replies) == 1  # the blank request ended the session before the last command


def test_garbage_fault_keeps_the_process_running(standin: StandinInstall) -> None:
    proc = subprocess.run(
        [str(standin.lake), "env", str(standin.repl)],
        input=requests({"cmd": "theorem standin_fault_garbage : True := sorry"}, {"cmd": "theorem ok : True := sorry"}),
        capture_output=True,
        text=True,
        timeout=20,
    )
    blocks = [b for b in proc.stdout.split("\n\n") if b.strip()]
    assert blocks[0].startswith("uncaught exception")
    assert json.loads(blocks[1])["env"] == 0


def test_requests_are_logged_per_process(standin: StandinInstall) -> None:
    talk(standin, requests({"cmd": "import Mathlib"}, {"cmd": "theorem r : True := sorry", "env": 0}))
    log = read_log(standin.log_path or "")
    assert log[0]["event"] == "start"
    assert [e["request"] for e in log[1:]] == [
        {"cmd": "import Mathlib"},
        {"cmd": "theorem r : True := sorry", "env": 0},
    ]
    assert len({e["pid"] for e in log}) == 1


def test_lean_json_mode_through_lake_env(standin: StandinInstall, tmp_path: Path) -> None:
    source = tmp_path / "Check.lean"
    source.write_text("import Mathlib\ntheorem t (n : Nat) : n + = n := sorry\n", encoding="utf-8")
    proc = subprocess.run(
        [str(standin.lake), "env", "lean", "--json", str(source)], capture_output=True, text=True, timeout=20
    )
    (message,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 1
    assert (message["severity"], message["pos"], message["fileName"]) == (
        "error",
        {"line": 2, "column": 26},
        str(source),
    )


def test_lake_shim_reports_a_version(standin: StandinInstall) -> None:
    proc = subprocess.run([str(standin.lake), "--version"], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 0 and "Lake version" in proc.stdout
    assert (standin.directory / "lean-toolchain").read_text().startswith("leanprover/lean4:v4")


def test_elaboration_error_rules(standin: StandinInstall) -> None:
    replies, _ = talk(
        standin,
        requests(
            {"cmd": 'theorem type_error (n : Nat) : n + "a" = n := sorry'},
            {"cmd": "theorem u (n : Nat) :\n    undefined_f n = n := sorry", "env": 0},
        ),
    )
    # Same positions as the real REPL's recorded answer to this command (transcript_core_2021).
    spans = [(m["severity"], m["pos"], m["endPos"]) for m in replies[0]["messages"]]  # type: ignore[union-attr]
    assert spans == [
        ("error", {"line": 1, "column": 31}, {"line": 1, "column": 38}),
        ("warning", {"line": 1, "column": 46}, {"line": 1, "column": 51}),
    ]
    error = replies[1]["messages"][0]  # type: ignore[index]
    assert error["severity"] == "error" and error["pos"] == {"line": 2, "column": 4}
    assert error["endPos"] == {"line": 2, "column": 15}
