"""`autoformal formalize`, `eval` and `eval-benchmark` end to end: the loopback OpenAI-compatible server, the
stand-in Lean REPL found through the environment exactly as a user configures the real one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from autoformal.cli import app
from autoformal.testing.openai_server import OpenAIStubServer
from autoformal.testing.standin_repl import StandinInstall, install_standin, read_log

INFORMAL = "Prove that for every natural number n, n + 0 = n."


def responder(request: dict[str, Any]) -> list[str]:
    prompt = request["messages"][-1]["content"]
    n = int(request.get("n") or 1)
    if "<lean_statement>" in prompt:
        return ["For every natural number n, n plus zero is n."] * n
    samples = [
        "```lean\ntheorem t (n : ℕ) : n + 0 = n := by simp\n```",
        "```lean\ntheorem u (m : ℕ) : m + 0 = m := by sorry\n```",
        "```lean\ntheorem v (n : ℕ) : n + 1 = n := by sorry\n```",
    ]
    return [samples[i % 3] for i in range(n)]


@pytest.fixture
def server():
    with OpenAIStubServer(responder) as stub:
        yield stub


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: OpenAIStubServer) -> StandinInstall:
    install = install_standin(tmp_path / "proj", log_path=tmp_path / "lean.jsonl")
    monkeypatch.setenv("AUTOFORMAL_BASE_URL", server.base_url)
    monkeypatch.setenv("AUTOFORMAL_MODEL", server.model)
    monkeypatch.setenv("AUTOFORMAL_LEAN_PROJECT", str(install.directory))
    monkeypatch.setenv("AUTOFORMAL_LEAN_REPL", str(install.directory))
    monkeypatch.setenv("PATH", f"{install.directory}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("AUTOFORMAL_CACHE_PATH", str(tmp_path / "cache.sqlite"))
    monkeypatch.setenv("AUTOFORMAL_RETRIEVAL", "off")
    monkeypatch.setenv("AUTOFORMAL_CHECKER__NUM_WORKERS", "1")
    monkeypatch.delenv("AUTOFORMAL_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return install


def test_formalize_json_ranked_and_cached(env: StandinInstall, server: OpenAIStubServer) -> None:
    result = CliRunner().invoke(app, ["formalize", INFORMAL, "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["lean_checked"] is True
    assert payload["stage_counts"] == {
        "generated": 3, "extracted": 3, "parsed": 3, "safe": 3, "elaborated": 3, "ranked": 3,
    }  # fmt: skip
    best = payload["candidates"][0]
    assert best["rank"] == 1 and "+ 0 =" in best["statement"] and best["lean"]["ok"] is True
    assert payload["candidates"][-1]["statement"].startswith("theorem v")
    requests = len(server.chat_requests)
    checks = len([e for e in read_log(env.log_path or "") if "request" in e])
    # The same command again: answered from the cache, nothing reaches the server or Lean.
    again = CliRunner().invoke(app, ["formalize", INFORMAL, "-k", "3", "--json"])
    assert again.exit_code == 0, again.output
    assert len(server.chat_requests) == requests
    assert len([e for e in read_log(env.log_path or "") if "request" in e]) == checks
    assert json.loads(again.stdout)["candidates"][0]["statement"] == best["statement"]


def test_formalize_table_from_stdin(env: StandinInstall) -> None:
    result = CliRunner().invoke(app, ["formalize", "-", "--samples", "3"], input=INFORMAL)
    assert result.exit_code == 0, result.output
    assert "ranked candidate" in result.stdout and "n + 0 = n" in result.stdout
    assert "stages: generated 3" in result.stdout
    assert "NOT CHECKED" not in result.output


def test_no_lean_says_so_loudly(env: StandinInstall) -> None:
    result = CliRunner().invoke(app, ["formalize", INFORMAL, "-k", "3", "--no-lean"])
    assert result.exit_code == 0, result.output
    assert "NOT CHECKED BY LEAN" in result.stdout  # in the table output itself
    assert "NOT CHECKED BY LEAN" in result.stderr  # and as a warning
    assert not [e for e in read_log(env.log_path or "") if "request" in e]  # Lean never ran
    as_json = CliRunner().invoke(app, ["formalize", INFORMAL, "-k", "3", "--no-lean", "--json"])
    assert json.loads(as_json.stdout)["lean_checked"] is False
    assert "NOT CHECKED BY LEAN" in as_json.stderr


def test_no_endpoint_fails_fast_with_the_command_to_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AUTOFORMAL_BASE_URL", "AUTOFORMAL_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["formalize", INFORMAL])
    assert result.exit_code == 2
    assert "vllm serve mistralai/Leanstral-2603" in result.stderr
    assert "export AUTOFORMAL_BASE_URL=" in result.stderr


def test_backend_options_override_the_environment(env: StandinInstall, server: OpenAIStubServer) -> None:
    result = CliRunner().invoke(
        app, ["formalize", INFORMAL, "-k", "2", "--backend", "openai", "--model", "other", "--base-url",
              server.base_url, "--json"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "model `other` is not served" in result.stderr


def test_eval_on_labelled_pairs_with_plot(env: StandinInstall, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    rows = []
    for i in range(10):
        faithful = i % 2 == 0
        rows.append(
            {
                "id": f"r{i}",
                "problem_id": f"P{i}",
                "informal": f"Show that {i + 3} is less than {i + 10}.",
                "candidate": f"theorem t : {i + 3} < {i + (10 if faithful else 20)} := sorry",
                "label": faithful,
                "comment": "LEAK",
            }
        )
    data = tmp_path / "labelled.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    plot = tmp_path / "reliability.png"
    result = CliRunner().invoke(app, ["eval", str(data), "--plot", str(plot), "--no-llm", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    names = {s["scorer"]: s for s in report["scorers"]}
    assert {"numbers", "consistency", "self_consistency", "elaboration", "combined"} <= set(names)
    assert names["numbers"]["held_out"]["auroc"] == 1.0  # the invented constant is caught
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = CliRunner().invoke(app, ["eval", str(data), "--no-llm", "--no-lean"])
    assert "AUROC" in table.stdout and "elaboration" not in table.stdout


def test_eval_benchmark(env: StandinInstall, tmp_path: Path) -> None:
    bench = tmp_path / "bench.jsonl"
    bench.write_text(
        json.dumps({"id": "p1", "informal": INFORMAL, "formal": "theorem g (k : ℕ) : k + 0 = k := sorry",
                    "header": "import Mathlib", "split": "test"}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    result = CliRunner().invoke(app, ["eval-benchmark", str(bench), "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["typecheck_rate@1"] == 1.0 and metrics["typecheck_rate@3"] == 1.0
    assert metrics["gold_agreement@1"] == 1.0 and metrics["reference_similarity@1"] == 1.0
    assert metrics["backtranslation_similarity@1"]["p50"] > 0.5
    assert metrics["proven_agreement@1"] == 1.0
    assert metrics["proven_agreement@3"] == 1.0  # BEq+-style, by Lean
