"""`autoformal check` end to end: Lean discovered from AUTOFORMAL_LEAN_PROJECT / AUTOFORMAL_LEAN_REPL and
`lake` on PATH, exactly as a user sets it up, with the stand-in REPL as the Lean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autoformal.cli.app import app
from autoformal.cli.check import read_statements
from autoformal.testing.standin_repl import StandinInstall, read_log

GOOD = "theorem g (n : Nat) :\n    n + 0 = n := sorry"
BAD = 'theorem b (n : Nat) : n + "a" = n := sorry'


def test_read_statements_blocks_and_jsonl() -> None:
    assert read_statements(f"{GOOD}\n\n\n{BAD}\n") == [GOOD, BAD]
    jsonl = json.dumps({"statement": GOOD}) + "\n\n" + json.dumps({"statement": BAD, "id": 2}) + "\n"
    assert read_statements(jsonl) == [GOOD, BAD]


def test_check_json_output_and_exit_code(lean_env: StandinInstall, tmp_path: Path) -> None:
    source = tmp_path / "in.lean"
    source.write_text(f"{GOOD}\n\n{BAD}\n\n#eval 1\n", encoding="utf-8")
    header = tmp_path / "header.lean"
    header.write_text("import Mathlib\nset_option maxHeartbeats 400000\nopen Real\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(source), "--header", str(header), "--json", "--timeout", "5"])
    assert result.exit_code == 1, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["ok", "error", "rejected_unsafe"]
    assert rows[1]["messages"][0]["line"] == 1 and rows[1]["messages"][0]["column"] == 22
    sent = [e["request"]["cmd"] for e in read_log(lean_env.log_path or "") if "request" in e]
    header_cmd = "import Mathlib\nset_option maxHeartbeats 400000\nopen Real"
    assert 1 <= sent.count(header_cmd) <= 2  # once per worker process (two by default)
    assert sorted(c for c in sent if c != header_cmd) == sorted([GOOD, BAD])


def test_check_stdin_jsonl_table(lean_env: StandinInstall) -> None:
    stdin = json.dumps({"statement": GOOD}) + "\n"
    result = CliRunner().invoke(app, ["check", "-"], input=stdin)
    assert result.exit_code == 0, result.output
    assert "1/1 statements elaborate" in result.stdout and "ok" in result.stdout


def test_check_without_lean_prints_the_setup_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOFORMAL_LEAN_PROJECT", raising=False)
    monkeypatch.delenv("AUTOFORMAL_KIMINA_URL", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no lake anywhere
    monkeypatch.setenv("HOME", str(tmp_path))  # nor in ~/.elan/bin
    source = tmp_path / "in.lean"
    source.write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(source)])
    assert result.exit_code == 2
    assert "lake new myproj math" in result.stderr and "lake exe cache get" in result.stderr


def test_check_on_a_kimina_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_checking_kimina import KiminaStandin  # the loopback /api/check stand-in

    monkeypatch.delenv("AUTOFORMAL_KIMINA_URL", raising=False)
    source = tmp_path / "in.lean"
    source.write_text(f"{GOOD}\n\n{BAD}\n", encoding="utf-8")
    with KiminaStandin() as server:
        result = CliRunner().invoke(app, ["check", str(source), "--kimina-url", server.url, "--json"])
    assert result.exit_code == 1, result.output
    assert [json.loads(line)["status"] for line in result.stdout.splitlines()] == ["ok", "error"]
    assert len(server.payloads) == 1
