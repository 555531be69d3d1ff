"""`autoformal llm models|prompt` through the real Typer app."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from autoformal.cli import app
from autoformal.testing.openai_server import OpenAIStubServer

runner = CliRunner()


def test_models_lists_served_models() -> None:
    with OpenAIStubServer(models=["m1", "m2"]) as server:
        result = runner.invoke(app, ["llm", "models", "--base-url", server.base_url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == ["m1", "m2"]


def test_models_without_endpoint_explains_setup(monkeypatch) -> None:
    monkeypatch.delenv("AUTOFORMAL_BASE_URL", raising=False)
    result = runner.invoke(app, ["llm", "models"])
    assert result.exit_code == 2
    assert "vllm serve mistralai/Leanstral-2603" in result.output


def test_prompt_renders_messages_as_json() -> None:
    result = runner.invoke(app, ["llm", "prompt", "Show that 1 + 1 = 2.", "--json"])
    assert result.exit_code == 0, result.output
    messages = json.loads(result.stdout)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "Show that 1 + 1 = 2." in messages[1]["content"]


def test_backtranslation_prompt_from_stdin() -> None:
    result = runner.invoke(app, ["llm", "prompt", "-", "-b"], input="theorem t : [1] ≠ [] := by sorry")
    assert result.exit_code == 0, result.output
    assert "theorem t : [1] ≠ [] := by sorry" in result.stdout
    assert "lean_statement" in result.stdout
