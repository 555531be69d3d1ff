"""`autoformal mcp` as an agent host runs it: a subprocess over stdio, driven by the MCP SDK's own client, with
the loopback OpenAI-compatible server and the stand-in Lean REPL (configured through the environment exactly as
a user configures the real ones)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autoformal.testing.openai_server import OpenAIStubServer
from autoformal.testing.standin_repl import install_standin

mcp_client = pytest.importorskip("mcp.client.client", reason="the `mcp` SDK is not installed (pip install mcp)")

INFORMAL = "Prove that for every natural number n, n + 0 = n."
BRACKETS = "theorem t {α : Type} [inst : Inhabited α] (l : List α) (h : l = [a, b]) : l.length = 2 := sorry"


def responder(request: dict[str, Any]) -> list[str]:
    prompt = request["messages"][-1]["content"]
    n = int(request.get("n") or 1)
    if "<lean_statement>" in prompt:
        return ["For every natural number n, n plus zero is n."] * n
    samples = [
        "```lean\ntheorem t (n : ℕ) : n + 0 = n := by sorry\n```",
        "```lean\ntheorem v (n : ℕ) : n + 1 = n := by sorry\n```",
    ]
    return [samples[i % 2] for i in range(n)]


@pytest.fixture
def server_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    install = install_standin(tmp_path / "proj", log_path=tmp_path / "lean.jsonl")
    with OpenAIStubServer(responder) as stub:
        env = {
            "AUTOFORMAL_BASE_URL": stub.base_url,
            "AUTOFORMAL_MODEL": stub.model,
            "AUTOFORMAL_LEAN_PROJECT": str(install.directory),
            "AUTOFORMAL_LEAN_REPL": str(install.directory),
            "PATH": f"{install.directory}{os.pathsep}{os.environ['PATH']}",
            "AUTOFORMAL_CACHE_PATH": str(tmp_path / "cache.sqlite"),
            "AUTOFORMAL_RETRIEVAL": "off",
            "AUTOFORMAL_EXAMPLES": "0",
            "AUTOFORMAL_BACKTRANSLATION": "false",
            "AUTOFORMAL_NAMES": "",
            "AUTOFORMAL_CHECKER__NUM_WORKERS": "1",
            "AUTOFORMAL_CHECKER__TIMEOUT_S": "3",
            "AUTOFORMAL_RETRIEVAL_CONFIG__INDEX_DIR": str(tmp_path / "no-index"),
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        }
        yield env


async def _session(env: dict[str, str], tmp_path: Path):  # type: ignore[no-untyped-def]
    from mcp.client.stdio import StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", "from autoformal.cli import main; main()", "mcp"],
        env=env,
        cwd=str(tmp_path),
    )
    return mcp_client.Client(params, read_timeout_seconds=120)


def _structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return dict(result.structured_content)
    return json.loads(result.content[0].text)


def _error_text(result: Any) -> str:
    assert result.is_error
    return " ".join(getattr(c, "text", "") for c in result.content)


@pytest.mark.slow
async def test_tools_over_stdio(server_env: dict[str, str], tmp_path: Path) -> None:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with await _session(server_env, tmp_path) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"formalize", "check", "search_mathlib", "parse", "equivalent"} <= names

        parsed = _structured(await client.call_tool("parse", {"statement": BRACKETS}))
        (decl,) = parsed["declarations"]
        assert [b["name"] for b in decl["binders"]] == ["α", "inst", "l", "h"]
        assert decl["conclusion"] == "l.length = 2"
        assert parsed["safety"]["ok"] is True and parsed["canonical_form"].startswith("example")

        checked = _structured(await client.call_tool("check", {"statement": "theorem ok (n : Nat) : n = n := sorry"}))
        assert checked["safety"]["ok"] is True and checked["lean"]["status"] == "ok"
        bad = _structured(
            await client.call_tool("check", {"statement": "theorem bad (n : Nat) : n = undefined_thing := sorry"})
        )
        assert bad["lean"]["status"] == "error" and bad["lean"]["messages"][0]["line"] == 1
        unsafe = _structured(await client.call_tool("check", {"statement": '#eval IO.println "hi"'}))
        assert unsafe["safety"]["ok"] is False and unsafe["lean"] is None

        same = _structured(
            await client.call_tool(
                "equivalent",
                {"a": "theorem a (n : Nat) : n + 0 = n := sorry", "b": "theorem b (m : Nat) : m + 0 = m := sorry"},
            )
        )
        assert same["equivalence"]["verdict"] == "equivalent"

        result = _structured(
            await client.call_tool("formalize", {"text": INFORMAL, "k": 2}, progress_callback=on_progress)
        )
        assert result["lean_checked"] is True
        statements = [c["statement"] for c in result["candidates"]]
        assert any("n + 0 = n" in s for s in statements)
        best = result["candidates"][0]
        assert best["lean"]["ok"] is True and "scores" in best
        assert progress and progress == sorted(progress)  # started … done, never backwards


@pytest.mark.slow
async def test_failures_are_tool_errors_and_the_server_survives(server_env: dict[str, str], tmp_path: Path) -> None:
    async with await _session(server_env, tmp_path) as client:
        # a bad argument: rejected by the input schema, as a tool error
        wrong_type = await client.call_tool("parse", {"statement": 42})
        assert wrong_type.is_error
        # a statement that does not parse: the grammar's position, not a traceback
        syntax = _error_text(await client.call_tool("parse", {"statement": "theorem t : (1 = 1 := sorry"}))
        assert "line 1" in syntax and "Traceback" not in syntax
        # empty input and an out-of-range k say what is wrong
        assert "empty" in _error_text(await client.call_tool("formalize", {"text": "   "}))
        assert "k must be" in _error_text(await client.call_tool("formalize", {"text": INFORMAL, "k": 0}))
        # no index: the error says how to build one
        assert "autoformal index build" in _error_text(await client.call_tool("search_mathlib", {"query": "primes"}))
        # a Lean timeout costs that statement only (the stand-in hangs on this name)
        hung = _structured(
            await client.call_tool("check", {"statement": "theorem standin_fault_hang : True := sorry"})
        )
        assert hung["lean"]["status"] == "timeout"
        # ... and the server still answers
        ok = _structured(await client.call_tool("check", {"statement": "theorem ok (n : Nat) : n = n := sorry"}))
        assert ok["lean"]["status"] == "ok"
