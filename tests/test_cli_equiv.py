"""`autoformal equiv` end to end, with the stand-in REPL found the way a user's Lean is found."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from autoformal.cli.app import app
from autoformal.testing.standin_repl import StandinInstall, read_log

A = "theorem a (n m : Nat) (h : n < m) (h2 : m < 10) : n < 10 := sorry"
B = "theorem b (x y : Nat) (h2 : y < 10) (h : x < y) : x < 10 := sorry"


def test_equiv_json_with_probes(lean_env: StandinInstall) -> None:
    result = CliRunner().invoke(app, ["equiv", A, B, "--no-header", "--json", "--probes"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["verdict"] == "equivalent"
    assert "apply H" in payload["a_to_b"]["tactic"]
    assert payload["probes"]["a"]["error"] is None
    assert any("theorem goal" in e["request"]["cmd"] for e in read_log(lean_env.log_path or "") if "request" in e)


def test_equiv_one_direction_table_and_exit_code(lean_env: StandinInstall) -> None:
    strong = "theorem s (f : Nat → Nat) : f 0 = f 1 := sorry"
    weak = "theorem w (f : Nat → Nat) (h : f 0 = 0) : f 0 = f 1 := sorry"
    result = CliRunner().invoke(app, ["equiv", strong, weak, "--no-header"])
    assert result.exit_code == 1, result.output
    assert "a_implies_b" in result.stdout and "B ⇒ A: not proved" in result.stdout
    assert "inconclusive" in result.stdout  # the tactics a core-only Lean lacks


def test_equiv_unsafe_statement_is_an_error_naming_it(lean_env: StandinInstall) -> None:
    result = CliRunner().invoke(app, ["equiv", A, "theorem t : True := sorry\n#eval 1", "--no-header", "--json"])
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["verdict"] == "error" and payload["detail"].startswith("statement B:")
    sent = [e["request"]["cmd"] for e in read_log(lean_env.log_path or "") if "request" in e]
    assert not any("#eval" in cmd for cmd in sent)
