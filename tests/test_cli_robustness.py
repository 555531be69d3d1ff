"""Every command against a corpus of bad inputs and bad servers: the exit code is a documented one, stderr
never holds a traceback, and with --json stdout is JSON (or empty). Byte inputs for file and text arguments
are generated with hypothesis (bounded examples, no Lean, servers that fail fast)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_support import BAD_SERVER_MODES, bad_server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from autoformal.cli import app
from autoformal.cli.boundary import ExitCode

DOCUMENTED = {ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE}
QUICK = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

#: Commands taking one input file, as argument lists around the path (`OUT` is replaced by an output path).
FILE_COMMANDS: dict[str, list[str]] = {
    "parse": ["parse", "{}", "--json"],
    "check": ["check", "{}", "--json"],
    "eval": ["eval", "{}", "--no-llm", "--no-lean", "--json"],
    "eval-benchmark": ["eval-benchmark", "{}", "--no-lean", "--retries", "0", "--json"],
    "bulk": ["bulk", "{}", "--dry-run", "--json"],
    "docstrings": ["docstrings", "{}", "--dry-run", "--json"],
    "index info": ["index", "info", "{}", "--json"],
    "index build": ["index", "build", "--corpus", "{}", "--out", "OUT", "--json"],
}
#: Commands taking one text argument.
TEXT_COMMANDS: dict[str, list[str]] = {
    "formalize": ["formalize", "{}", "--no-lean", "--retries", "0", "--json"],
    "llm prompt": ["llm", "prompt", "{}", "--json"],
    "index search": ["index", "search", "{}", "--index", "OUT", "--json"],
}
#: Commands that call the model, with the input they need.
MODEL_COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "formalize": lambda d: ["formalize", "Show that 1 + 1 = 2.", "--no-lean"],
    "bulk": lambda d: ["bulk", str(_problems(d)), "-o", str(d / "out.jsonl"), "--no-lean"],
    "docstrings": lambda d: ["docstrings", str(_python(d)), "--no-lean"],
    "eval-benchmark": lambda d: ["eval-benchmark", str(_problems(d)), "--no-lean"],
    "eval": lambda d: ["eval", str(_labelled(d)), "--no-lean"],
    "llm models": lambda d: ["llm", "models"],
}


def _problems(directory: Path) -> Path:
    path = directory / "problems.jsonl"
    rows = [
        {"id": f"p{i}", "informal": f"Show {i} + 1 = 1 + {i}.", "formal": "theorem x : True := sorry"} for i in range(2)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


def _python(directory: Path) -> Path:
    path = directory / "m.py"
    path.write_text("def double(n: int) -> int:\n    '''Return twice ``n``.'''\n    return 2 * n\n", encoding="utf-8")
    return path


def _labelled(directory: Path) -> Path:
    path = directory / "labelled.jsonl"
    rows = [
        {"id": f"p{i}", "informal": "x", "candidate": "theorem t : True := sorry", "label": i % 2 == 0}
        for i in range(12)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No endpoint, no Lean, no config file, a private cache, fast failures."""
    for name in [n for n in os.environ if n.startswith("AUTOFORMAL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AUTOFORMAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AUTOFORMAL_RETRIEVAL", "off")
    monkeypatch.setenv("AUTOFORMAL_EXAMPLES", "0")
    monkeypatch.setenv("AUTOFORMAL_BACKTRANSLATION", "false")  # no sentence encoder to load per command
    monkeypatch.setenv("AUTOFORMAL_BACKEND__PROBE_TIMEOUT_S", "1")
    monkeypatch.setenv("AUTOFORMAL_BACKEND__TIMEOUT_S", "1")
    monkeypatch.setenv("AUTOFORMAL_BACKEND__DEADLINE_S", "2")
    monkeypatch.setenv("AUTOFORMAL_BACKEND__MAX_RETRIES", "0")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no `lake`: Lean is not configured
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(args: list[str], **kwargs: Any) -> Any:
    return CliRunner().invoke(app, args, **kwargs)


def assert_contract(result: Any, args: list[str]) -> None:
    where = f"{args}: exit {result.exit_code}\n{result.output}"
    assert result.exit_code in DOCUMENTED, where
    assert "Traceback" not in result.output, where
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), where
    if "--json" in args and result.stdout.strip():
        for document in _json_documents(result.stdout):
            json.loads(document)


def _json_documents(stdout: str) -> list[str]:
    """One document, or JSON lines (check, index search)."""
    try:
        json.loads(stdout)
        return [stdout]
    except ValueError:
        return [line for line in stdout.splitlines() if line.strip()]


def _fill(template: list[str], value: str, out: Path) -> list[str]:
    return [value if a == "{}" else str(out) if a == "OUT" else a for a in template]


BAD_FILES: dict[str, Callable[[Path], Path]] = {
    "empty": lambda d: _write(d / "empty", b""),
    "blank": lambda d: _write(d / "blank", b"\n \n\t\n"),
    "binary": lambda d: _write(d / "binary", bytes(range(256)) * 4),
    "non-utf8": lambda d: _write(d / "latin1", "café théorème\n".encode("latin-1")),
    "huge": lambda d: _write(d / "huge", (b'{"id": "x", "informal": "' + b"a" * 200 + b'"}\n') * 5000),
    "malformed-jsonl": lambda d: _write(d / "bad.jsonl", b'{"id": 1, "informal": \n[1, 2]\n"str"\n{}\n'),
    "directory": lambda d: d,
    "missing": lambda d: d / "does-not-exist",
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
@pytest.mark.parametrize("command", sorted(FILE_COMMANDS))
def test_file_commands_on_bad_files(command: str, kind: str, isolated: Path) -> None:
    if command == "index build" and kind == "huge":
        pytest.skip("embedding 5000 lines is a benchmark, not a robustness check")
    path = BAD_FILES[kind](isolated)
    args = _fill(FILE_COMMANDS[command], str(path), isolated / "out")
    assert_contract(invoke(args), args)


@QUICK
@given(data=st.binary(max_size=400))
@pytest.mark.parametrize("command", ["parse", "check", "eval", "eval-benchmark", "bulk", "docstrings"])
def test_file_commands_on_generated_bytes(command: str, data: bytes, isolated: Path) -> None:
    path = isolated / "input"
    path.write_bytes(data)
    args = _fill(FILE_COMMANDS[command], str(path), isolated / "out")
    assert_contract(invoke(args), args)


@QUICK
@given(data=st.binary(max_size=200))
@pytest.mark.parametrize("command", sorted(TEXT_COMMANDS))
def test_text_commands_on_generated_bytes(command: str, data: bytes, isolated: Path) -> None:
    # An argument with undecodable bytes reaches Python as lone surrogates, exactly like this.
    text = data.decode("utf-8", errors="surrogateescape")
    if text.startswith("-") and text != "-":
        text = " " + text  # not an option
    args = _fill(TEXT_COMMANDS[command], text, isolated / "no-index")
    assert_contract(invoke(args, input=data), args)


def test_malformed_and_unknown_configuration(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, content in (
        ("bad.toml", b"samples = [\n"),
        ("binary.toml", b"\xff\xfe\x00"),
        ("typo.toml", b"samplse = 3\n"),
    ):
        config = _write(isolated / name, content)
        monkeypatch.setenv("AUTOFORMAL_CONFIG", str(config))
        for make in MODEL_COMMANDS.values():
            args = make(isolated)
            result = invoke(args)
            assert_contract(result, args)
            assert result.exit_code == ExitCode.USAGE and name in result.output, (args, result.output)
    monkeypatch.delenv("AUTOFORMAL_CONFIG")
    monkeypatch.setenv("AUTOFORMAL_SAMPLES", "many")
    result = invoke(MODEL_COMMANDS["formalize"](isolated))
    assert result.exit_code == ExitCode.USAGE and "samples" in result.output


def test_unwritable_outputs(isolated: Path) -> None:
    a_file = _write(isolated / "file", b"x")
    problems, source = _problems(isolated), _python(isolated)
    cases = [
        ["bulk", str(problems), "-o", str(a_file / "out.jsonl"), "--no-lean"],
        ["bulk", str(problems), "-o", str(isolated), "--no-lean"],
        ["docstrings", str(source), "--dry-run", "-o", str(a_file / "x" / "s.lean")],
        ["docstrings", str(source), "--dry-run", "--report", str(a_file / "r.json")],
        ["formalize", "Show 1 = 1.", "--no-lean", "--save-config", str(a_file / "c.toml")],
        ["index", "build", "--corpus", str(problems), "--out", str(a_file / "ix")],
    ]
    for args in cases:
        result = invoke(args)
        assert_contract(result, args)
        assert result.exit_code == ExitCode.USAGE, (args, result.output)


@pytest.mark.parametrize("mode", ["refuse", *BAD_SERVER_MODES])
@pytest.mark.parametrize("command", sorted(MODEL_COMMANDS))
def test_model_commands_against_bad_servers(
    command: str, mode: str, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with bad_server(mode) as url:
        monkeypatch.setenv("AUTOFORMAL_BASE_URL", url)
        monkeypatch.setenv("AUTOFORMAL_MODEL", "m")
        args = [*MODEL_COMMANDS[command](isolated), "--json"]
        result = invoke(args)
    assert_contract(result, args)
    assert result.exit_code != ExitCode.OK or command == "eval", (args, result.output)  # eval skips to no-LLM notes



def test_library_progress_bars_stay_off_a_stderr_that_is_not_a_terminal() -> None:
    """tqdm bars of the libraries below us (model2vec's while it distills the static encoder) would put
    carriage-return noise in a log file or pipe before our one-line error. tqdm reads its switch when it is
    imported, so the command line sets it before anything imports tqdm (checked in a fresh process)."""
    import subprocess
    import sys

    script = (
        "import sys, autoformal.cli\n"
        "assert 'tqdm' not in sys.modules, 'imported before the switch is set'\n"
        "from autoformal.cli.app import _quiet_library_progress_bars\n"
        "_quiet_library_progress_bars()\n"
        "from tqdm import tqdm\n"
        "for _ in tqdm(range(3), desc='Encoding tokens'):\n"
        "    pass\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
