"""The command line's contract, one test per failure class of issue 12: literal Lean in every table, results
alone on stdout, bounded waits on a bad server, one-line errors with documented exit codes, no silent
misconfiguration, resumable interruptions."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cli_support import BRACKETED_STATEMENTS, bad_server, point_cli_at
from rich.console import Console
from typer.testing import CliRunner

from autoformal.checking.models import CheckResult, CheckStatus, LeanMessage
from autoformal.cli import app
from autoformal.cli.boundary import ExitCode
from autoformal.testing.openai_server import OpenAIStubServer, ScriptedResponse
from autoformal.testing.standin_repl import StandinInstall, install_standin

REPO = Path(__file__).resolve().parents[1]
INFORMAL = "Prove that for every natural number n, n + 0 = n."


def responder(request: dict[str, Any]) -> list[str]:
    n = int(request.get("n") or 1)
    return [f"```lean\n{BRACKETED_STATEMENTS[i % len(BRACKETED_STATEMENTS)]}\n```" for i in range(n)]


@pytest.fixture
def standin(tmp_path: Path) -> StandinInstall:
    return install_standin(tmp_path / "proj")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standin: StandinInstall):  # type: ignore[no-untyped-def]
    with OpenAIStubServer(responder) as server:
        point_cli_at(monkeypatch, tmp_path, server, standin)
        yield server


def wide(text: str) -> str:
    """Rendered text with table borders and line breaks gone, so a statement reads as one run of text."""
    text = re.sub(r"(?<=\w)-\n\s+(?=\w)", "-", text)  # help text wrapped after a hyphen
    return " ".join(re.sub(r"[│┃┌┐└┘├┤┬┴┼─━═║╭╮╰╯]", " ", text).split())


def run(args: list[str], **kwargs: Any) -> Any:
    return CliRunner().invoke(app, args, env={"COLUMNS": "3000"}, **kwargs)


def real_bracketed_statements(shared: Path | None) -> list[str]:
    """Gold statements with `[` followed by a lowercase letter (what rich would eat), from the benchmarks."""
    if shared is None:
        return []
    found = []
    for name in ("putnambench.jsonl", "proofnet_lean4_rahul3613.jsonl"):
        path = shared / "benchmarks" / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                formal = json.loads(line)["formal"]
                if re.search(r"\[[a-z]", formal):
                    found.append(formal)
    return found[:40]


# -------------------------------------------------------------------------------------- 1. rich escaping


def test_tables_show_bracket_heavy_statements_verbatim(request: pytest.FixtureRequest) -> None:
    from autoformal.cli.check import print_check_table
    from autoformal.cli.index import print_hits
    from autoformal.corpus import Declaration
    from autoformal.retrieval import Hit

    try:
        shared: Path | None = request.getfixturevalue("shared_data")
    except pytest.skip.Exception:
        shared = None
    statements = list(BRACKETED_STATEMENTS) + real_bracketed_statements(shared)
    results = [
        CheckResult(
            statement=s,
            status=CheckStatus.ERROR,
            ok=False,
            messages=[LeanMessage(severity="error", line=1, column=2, text=f"type mismatch [{s[:30]}]")],
            elapsed_s=0.1,
        )
        for s in statements
    ]
    buffer = io.StringIO()
    print_check_table(results, Console(file=buffer, width=5000))
    hits = [
        Hit[Declaration](
            item=Declaration(name=f"Foo.bar{i}", kind="theorem", signature=s), score=1.0, rank=i + 1, source="dense"
        )
        for i, s in enumerate(statements)
    ]
    print_hits(hits, Console(file=buffer, width=5000))
    rendered = buffer.getvalue()
    for statement in statements:
        for line in statement.splitlines():  # a table cell keeps the statement's lines, each verbatim
            assert line.strip() in rendered, (statement, line)
        assert f"type mismatch [{statement[:30]}]".splitlines()[0] in rendered


def test_parse_table_and_canonical_line_keep_brackets(tmp_path: Path) -> None:
    source = tmp_path / "s.lean"
    source.write_text(
        "theorem t (x₀ : List ℕ) (h : x₀ = [a, b]) [inst : Fintype α] : x₀ = [a, b] → x₀.length = 2 := sorry",
        encoding="utf-8",
    )
    result = run(["parse", str(source)])
    assert result.exit_code == 0, result.output
    out = wide(result.stdout)
    assert "x₀ = [a, b]" in out and "inst : Fintype α" in out
    canonical = next(line for line in result.stdout.splitlines() if line.startswith("canonical form:"))
    assert "x₀ = [a, b]" in canonical and "[x₁ : Fintype α]" in canonical


def test_help_texts_keep_bracketed_text() -> None:
    """Every option's help text of every command appears in its --help (nothing read as markup)."""
    from typer.main import get_command

    root = get_command(app)
    checked = 0

    def walk(command: Any, path: list[str]) -> None:
        nonlocal checked
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
            return
        rendered = wide(run([*path, "--help"]).stdout)
        for param in command.params:
            help_text = getattr(param, "help", None)
            if help_text:
                assert " ".join(help_text.split()) in rendered, (path, help_text)
                checked += 1

    walk(root, [])
    assert checked > 40
    assert "[default: stdout]" in wide(run(["docstrings", "--help"]).stdout)
    assert "Synthesize @[to_additive] twins." in wide(run(["index", "build", "--help"]).stdout)


# ------------------------------------------------------------------------- 2. stdout holds only results


def _subprocess_env(server: OpenAIStubServer, standin: StandinInstall, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOFORMAL_")}
    env.update(
        {
            "AUTOFORMAL_BASE_URL": server.base_url,
            "AUTOFORMAL_MODEL": server.model,
            "AUTOFORMAL_LEAN_PROJECT": str(standin.directory),
            "AUTOFORMAL_LEAN_REPL": str(standin.directory),
            "PATH": f"{standin.directory}{os.pathsep}{os.environ['PATH']}",
            "AUTOFORMAL_CACHE_DIR": str(tmp_path / "cache"),
            "AUTOFORMAL_RETRIEVAL": "off",
            "AUTOFORMAL_EXAMPLES": "0",
            "AUTOFORMAL_BACKTRANSLATION": "false",
            "AUTOFORMAL_CHECKER__NUM_WORKERS": "1",
            "PYTHONPATH": str(REPO),
        }
    )
    return env


CLI = [sys.executable, "-c", "from autoformal.cli import main; main()"]


def test_json_stdout_is_only_json_when_piped(tmp_path: Path, standin: StandinInstall) -> None:
    bench = tmp_path / "bench.jsonl"
    bench.write_text(
        "\n".join(
            json.dumps({"informal": f"Show {i} + n = n + {i}.", "formal": "theorem x : True := sorry"})
            for i in range(3)
        ),
        encoding="utf-8",
    )
    problems = tmp_path / "in.jsonl"
    problems.write_text(json.dumps({"id": "a", "informal": INFORMAL}) + "\n", encoding="utf-8")
    with OpenAIStubServer(responder) as server:
        env = _subprocess_env(server, standin, tmp_path)
        commands = [
            ["eval-benchmark", str(bench), "-k", "2", "--json"],
            ["formalize", INFORMAL, "-k", "2", "--json"],
            ["bulk", str(problems), "-o", str(tmp_path / "out.jsonl"), "-k", "2", "--json"],
        ]
        for command in commands:
            done = subprocess.run([*CLI, *command], env=env, capture_output=True, timeout=240, cwd=tmp_path)
            assert done.returncode in (0, 1), done.stderr.decode()
            payload = json.loads(done.stdout)  # the whole of stdout is one JSON document
            assert b"Traceback" not in done.stderr
            if command[0] == "bulk":  # the summary carries what reproduces the run
                assert payload["config"]["samples"] == 2 and payload["config"]["backend"]["base_url"] == server.base_url


# ---------------------------------------------------------------------------- 3. bounded time on a bad server


def test_timeout_defaults_are_bounded() -> None:
    from autoformal.llm.config import OpenAIBackendConfig

    config = OpenAIBackendConfig(base_url="http://x/v1")
    assert config.deadline_s <= 600 and config.probe_timeout_s <= 30
    assert config.timeout_s * (config.max_retries + 1) >= config.deadline_s  # the deadline is what binds


@pytest.mark.parametrize("command", ["formalize", "bulk", "docstrings", "eval-benchmark"])
def test_hung_server_fails_fast_with_the_timeout_option(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standin: StandinInstall
) -> None:
    problems = tmp_path / "in.jsonl"
    problems.write_text(json.dumps({"id": "a", "informal": INFORMAL, "formal": "theorem x : True := sorry"}) + "\n")
    source = tmp_path / "m.py"
    source.write_text("def double(n: int) -> int:\n    '''Return twice ``n``.'''\n    return 2 * n\n")
    arguments = {
        "formalize": [INFORMAL],
        "bulk": [str(problems), "-o", str(tmp_path / "out.jsonl")],
        "docstrings": [str(source)],
        "eval-benchmark": [str(problems)],
    }[command]
    with OpenAIStubServer(responder) as server:
        point_cli_at(monkeypatch, tmp_path, server, standin)
        server.script(*[ScriptedResponse(delay_s=30.0)] * 10)  # /models answers; generation hangs
        started = time.monotonic()
        result = run([command, *arguments, "--no-lean", "--timeout", "0.5", "--retries", "0"])
        elapsed = time.monotonic() - started
    assert elapsed < 20, elapsed
    assert "Traceback" not in result.output
    if command in ("formalize", "eval-benchmark"):
        assert result.exit_code in (ExitCode.USAGE, ExitCode.FAILED), result.output
    else:  # per-input failures: reported, the run finishes
        assert result.exit_code in (ExitCode.FAILED, ExitCode.USAGE, ExitCode.OK), result.output
    assert "did not answer within" in result.output or "timeout" in result.output.lower()


def test_hung_probe_is_reported_within_the_probe_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    with bad_server("hang") as url:
        monkeypatch.setenv("AUTOFORMAL_BACKEND__PROBE_TIMEOUT_S", "1")
        started = time.monotonic()
        result = run(["llm", "models", "--base-url", url])
    assert time.monotonic() - started < 10
    assert result.exit_code == ExitCode.USAGE and "did not answer within 1 s" in result.stderr


# --------------------------------------------------------------------------------- 4. one-line errors


@pytest.mark.parametrize("mode", ["html", "garbage"])
def test_non_json_answer_is_one_line(mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with bad_server(mode) as url:
        monkeypatch.setenv("AUTOFORMAL_BASE_URL", url)
        monkeypatch.setenv("AUTOFORMAL_MODEL", "m")
        monkeypatch.setenv("AUTOFORMAL_CACHE_DIR", str(tmp_path))
        result = run(["formalize", INFORMAL, "--no-lean", "--retries", "0", "--json"])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    assert result.stderr.startswith("error:") and (
        "not JSON" in result.stderr or "not a chat completion" in result.stderr
    )


def test_bulk_output_under_a_file_or_unwritable(tmp_path: Path) -> None:
    problems = tmp_path / "in.jsonl"
    problems.write_text(json.dumps({"id": "a", "informal": INFORMAL}) + "\n")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    under_file = run(["bulk", str(problems), "-o", str(a_file / "sub" / "out.jsonl")])
    assert under_file.exit_code == ExitCode.USAGE and "is a file" in under_file.output
    unwritable = run(["bulk", str(problems), "-o", "/proc/version/out.jsonl"])
    assert unwritable.exit_code == ExitCode.USAGE and "Traceback" not in unwritable.output


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00garbage", b"\n\n"])
def test_eval_on_empty_or_non_utf8_file(content: bytes, tmp_path: Path) -> None:
    labelled = tmp_path / "l.jsonl"
    labelled.write_bytes(content)
    result = run(["eval", str(labelled), "--no-llm", "--no-lean"])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "Traceback" not in result.output and str(labelled) in result.output


def test_malformed_toml_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("samples = [\n")
    monkeypatch.setenv("AUTOFORMAL_CONFIG", str(config))
    result = run(["formalize", INFORMAL, "--no-lean"])
    assert result.exit_code == ExitCode.USAGE
    assert str(config) in result.stderr and "not valid TOML" in result.stderr


# ----------------------------------------------------------------------------- 5. silent misconfiguration


def test_missing_config_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOFORMAL_CONFIG", str(tmp_path / "nope.toml"))
    result = run(["formalize", INFORMAL, "--no-lean"])
    assert result.exit_code == ExitCode.USAGE and "nope.toml" in result.stderr and "does not exist" in result.stderr


def test_misspelled_variable_warns_with_the_closest_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    source = tmp_path / "s.lean"
    source.write_text("theorem t : 1 = 1 := sorry")
    monkeypatch.setenv("AUTOFORMAL_SAMPLSE", "3")
    monkeypatch.setenv("AUTOFORMAL_LEAN_PROJCT", "/x")
    result = run(["parse", str(source)])
    assert result.exit_code == 0
    assert "AUTOFORMAL_SAMPLSE" in result.stderr and "did you mean AUTOFORMAL_SAMPLES?" in result.stderr
    assert "did you mean AUTOFORMAL_LEAN_PROJECT?" in result.stderr
    assert "AUTOFORMAL" not in result.stdout


def test_short_names_are_settings_and_rank_above_the_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from autoformal.config import FormalizerConfig
    from autoformal.envvars import unknown_variables

    config = tmp_path / "c.toml"
    config.write_text('[backend]\nbase_url = "http://toml/v1"\nmodel = "toml-model"\n')
    monkeypatch.setenv("AUTOFORMAL_CONFIG", str(config))
    monkeypatch.setenv("AUTOFORMAL_MODEL", "env-model")
    monkeypatch.setenv("AUTOFORMAL_LEAN_PROJECT", "~/proj")
    loaded = FormalizerConfig()
    assert loaded.backend.base_url == "http://toml/v1" and loaded.backend.model == "env-model"
    assert str(loaded.checker.project_dir) == str(Path("~/proj").expanduser())
    monkeypatch.setenv("AUTOFORMAL_BACKEND__MODEL", "nested-model")
    assert FormalizerConfig().backend.model == "nested-model"
    environ = {"AUTOFORMAL_BACKEND__EXTRA_BODY__TOP_K": "5", "AUTOFORMAL_MODEL": "x"}
    assert unknown_variables(FormalizerConfig, environ) == []


def test_eval_reads_the_config_file_and_warns_on_few_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [
        {
            "id": f"p{i}",
            "problem_id": f"p{i}",
            "informal": "n + 0 = n",
            "candidate": BRACKETED_STATEMENTS[0],
            "label": i % 2 == 0,
        }
        for i in range(8)
    ]
    labelled = tmp_path / "l.jsonl"
    labelled.write_text("\n".join(json.dumps(r) for r in rows))
    with OpenAIStubServer(lambda request: ["For every n, n + 0 = n."] * int(request.get("n") or 1)) as server:
        config = tmp_path / "c.toml"
        config.write_text(f'[backend]\nbase_url = "{server.base_url}"\nmodel = "{server.model}"\n')
        monkeypatch.setenv("AUTOFORMAL_CONFIG", str(config))
        monkeypatch.delenv("AUTOFORMAL_BASE_URL", raising=False)
        monkeypatch.setenv("AUTOFORMAL_CACHE_DIR", str(tmp_path))
        result = run(["eval", str(labelled), "--no-lean", "--json"])
        assert result.exit_code == 0, result.output
        assert server.chat_requests, "eval did not use the endpoint named in the config file"
    report = json.loads(result.stdout)
    assert "back_translation" in {s["scorer"] for s in report["scorers"]}
    assert "held-out pairs" in result.stderr and "chance" in result.stderr


def test_eval_on_too_few_rows_is_an_error(tmp_path: Path) -> None:
    labelled = tmp_path / "l.jsonl"
    labelled.write_text(
        json.dumps({"id": "a", "informal": "x", "candidate": "theorem t : True := sorry", "label": True})
    )
    result = run(["eval", str(labelled), "--no-llm", "--no-lean"])
    assert result.exit_code == ExitCode.USAGE and "needs rows from more problems" in result.stderr


def test_save_config_reproduces_the_run(env: OpenAIStubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from autoformal.config import FormalizerConfig

    saved = tmp_path / "run.toml"
    result = run(
        ["formalize", INFORMAL, "-k", "2", "--no-lean", "--timeout", "7", "--repair-rounds", "3",
         "--save-config", str(saved), "--json"]
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    for name in [n for n in os.environ if n.startswith("AUTOFORMAL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AUTOFORMAL_CONFIG", str(saved))
    again = FormalizerConfig()
    assert again.samples == 2 and again.lean is False and again.backend.timeout_s == 7 and again.repair_rounds == 3
    assert again.backend.base_url == env.base_url


# ------------------------------------------------------------------------------------------ 6. exit codes


@pytest.mark.parametrize(
    "content",
    [b"def f(:\n    pass\n", b"def f():\n    '''caf\xe9'''\n", b"\x00\x01\x02binary\xff"],
    ids=["syntax", "utf8", "binary"],
)
def test_docstrings_on_an_unreadable_file_fails(content: bytes, tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_bytes(content)
    out = tmp_path / "spec.lean"
    result = run(["docstrings", str(source), "-o", str(out), "--dry-run"])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "no Python source could be read" in result.stderr and not out.exists()


def test_check_on_an_empty_file_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "e.lean"
    empty.write_text("\n\n")
    result = run(["check", str(empty)])
    assert result.exit_code == ExitCode.USAGE and "no statement to check" in result.stderr


def test_index_info_verifies_checksums(tmp_path: Path) -> None:
    import hashlib

    index = tmp_path / "ix"
    index.mkdir()
    (index / "declarations.jsonl").write_text("{}\n")
    manifest = {
        "format_version": 1,
        "model": "m",
        "dimension": 4,
        "variant": "v",
        "max_seq_length": 8,
        "corpus_hash": "x",
        "count": 1,
        "index_type": "flat",
        "bm25_tokenizer": 1,
        "built_at": "now",
        "build_seconds": 0.0,
        "embedded": 1,
        "reused": 0,
        "files": {"declarations.jsonl": hashlib.sha256(b"other\n").hexdigest()},
    }
    from autoformal.retrieval.index import FORMAT_VERSION, IndexManifest

    manifest["format_version"] = FORMAT_VERSION
    fields = IndexManifest.model_fields
    (index / "manifest.json").write_text(json.dumps({k: v for k, v in manifest.items() if k in fields}))
    result = run(["index", "info", str(index)])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "does not match its checksum" in result.stderr


# -------------------------------------------------------------------------------------- 7. interruptions


def test_bulk_ctrl_c_says_what_was_written_and_how_to_resume(tmp_path: Path, standin: StandinInstall) -> None:
    problems = tmp_path / "in.jsonl"
    problems.write_text(
        "\n".join(json.dumps({"id": f"p{i}", "informal": f"Show {i} + n = n + {i}."}) for i in range(40))
    )
    out = tmp_path / "out.jsonl"
    with OpenAIStubServer(responder, latency_s=0.3) as server:
        env = _subprocess_env(server, standin, tmp_path)
        process = subprocess.Popen(
            [*CLI, "bulk", str(problems), "-o", str(out), "-c", "2", "--no-lean", "--id-field", "id"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (not out.exists() or out.read_bytes().count(b"\n") < 2):
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    text = stderr.decode()
    assert process.returncode == ExitCode.INTERRUPTED, text
    assert "Traceback" not in text and stdout == b""
    written = out.read_bytes().count(b"\n")
    assert re.search(rf"this run wrote {written} problems", text), text
    resume = text.strip().splitlines()[-1].strip()
    assert resume.startswith("autoformal bulk ") and resume.endswith("--resume") and str(out) in resume
    assert ("--no-lean" in resume and "-c 2" not in resume) or "--concurrency 2" in resume


def test_docstrings_resume_sends_only_unfinished_claims(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standin: StandinInstall
) -> None:
    source = REPO / "examples" / "docstrings" / "algorithms.py"
    report = tmp_path / "r.json"
    with OpenAIStubServer(responder) as server:
        point_cli_at(monkeypatch, tmp_path, server, standin)
        monkeypatch.setenv("AUTOFORMAL_CACHE", "false")  # every claim formalized is a request the server sees
        first = run(
            ["docstrings", str(source), "--report", str(report), "-k", "1", "--no-lean", "-o", str(tmp_path / "a.lean")]
        )
        assert first.exit_code == 0, first.output
        sent = len(server.chat_requests)
        saved = json.loads(report.read_text())
        claims = [c for f in saved["functions"] for c in f["claims"] if c["result"] is not None]
        for claim in claims[:3]:  # as if the run had been interrupted before these three
            claim["result"] = None
        report.write_text(json.dumps(saved))
        again = run(
            [
                "docstrings",
                str(source),
                "--report",
                str(report),
                "--resume",
                "-k",
                "1",
                "--no-lean",
                "-o",
                str(tmp_path / "b.lean"),
            ]
        )
        assert again.exit_code == 0, again.output
        assert len(server.chat_requests) - sent == 3
    assert f"kept {len(claims) - 3} results" in again.stderr
    assert (tmp_path / "a.lean").read_text().count("theorem") == (tmp_path / "b.lean").read_text().count("theorem")
    assert run(["docstrings", str(source), "--resume"]).exit_code == ExitCode.USAGE  # --resume needs --report


# ------------------------------------------------------------------------------------- 8. the smaller ones


def test_check_skips_and_reports_a_bad_jsonl_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standin: StandinInstall
) -> None:
    monkeypatch.setenv("PATH", f"{standin.directory}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("AUTOFORMAL_LEAN_PROJECT", str(standin.directory))
    monkeypatch.setenv("AUTOFORMAL_LEAN_REPL", str(standin.directory))
    source = tmp_path / "s.jsonl"
    good = "theorem t : 1 + 1 = 2 := sorry"
    source.write_text(
        "\n".join([json.dumps({"statement": good}), "{oops", json.dumps({"nope": 1}), json.dumps({"statement": good})])
    )
    result = run(["check", str(source), "--json", "--workers", "1"])
    assert result.exit_code == ExitCode.FAILED, result.output
    assert len(result.stdout.splitlines()) == 2
    assert "line 2" in result.stderr and "line 3" in result.stderr


def test_directory_argument_is_reported_as_a_directory(tmp_path: Path) -> None:
    for command in (["parse", str(tmp_path)], ["check", str(tmp_path)]):
        result = run(command)
        assert result.exit_code == ExitCode.USAGE and "is a directory" in result.output, command


def test_parse_errors_speak_lean_not_token_names() -> None:
    from autoformal.errors import StatementSyntaxError
    from autoformal.syntax import parse_document

    with pytest.raises(StatementSyntaxError) as caught:
        parse_document("theorem t (x : Nat : x = x := sorry")
    message = str(caught.value)
    assert "`)`" in message and not re.search(r"\b[A-Z][A-Z_]+\b|__ANON", message.split(" at line")[0])
    assert " at at " not in message


def test_llm_prompt_refuses_empty_text() -> None:
    for text in ("", "   "):
        result = run(["llm", "prompt", text])
        assert result.exit_code == ExitCode.USAGE and "empty input" in result.output


# ---------------------------------------------------------------------------------- boundary and debugging


def test_an_unexpected_exception_is_one_line_and_a_traceback_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import autoformal.syntax

    def broken(text: str) -> None:
        raise RuntimeError("synthetic bug")

    monkeypatch.setattr(autoformal.syntax, "parse_document", broken)
    monkeypatch.setenv("AUTOFORMAL_CACHE_DIR", str(tmp_path))
    source = tmp_path / "s.lean"
    source.write_text("theorem t : True := sorry")
    result = run(["parse", str(source)])
    assert result.exit_code == ExitCode.INTERNAL and "Traceback" not in result.output
    written = Path(re.search(r"full traceback in (\S+?)\.\s", result.stderr).group(1))  # type: ignore[union-attr]
    assert "synthetic bug" in written.read_text() and "Traceback" in written.read_text()
    debug = run(["--debug", "parse", str(source)])
    assert isinstance(debug.exception, RuntimeError)


# ----------------------------------------------------------------------------------------- 9. the README


def test_readme_quick_start_runs_with_the_test_doubles(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    top = readme[: readme.index("## Command line")]
    assert "python -m autoformal.testing.openai_server" in top and "TEST DOUBLE" in top
    assert "standin_repl install" in top and "AUTOFORMAL_API_KEY" in top
    # The stand-in's install verb prints the exports the README evaluates.
    done = subprocess.run(
        [sys.executable, "-m", "autoformal.testing.standin_repl", "install", str(tmp_path / "standin")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"export AUTOFORMAL_LEAN_PROJECT={tmp_path / 'standin'}" in done.stdout
    assert (tmp_path / "standin" / "lake").is_file()


def test_json_errors_name_their_position_once(tmp_path: Path) -> None:
    """json's messages end in "at" ("Unterminated string starting at"); every reader says the position once."""
    problems = tmp_path / "in.jsonl"
    problems.write_text('{"id": "a", "informal": "unterminated\n{"id": 2 "informal": "x"}\n')
    result = run(["bulk", str(problems), "--dry-run"])
    assert re.search(r"(Unterminated string starting|Invalid control character) at column \d+", result.stderr)
    assert " at at " not in result.stderr
    assert "Expecting ',' delimiter at column" in result.stderr
    source = tmp_path / "s.jsonl"
    source.write_text('{"statement": "unterminated\n')
    checked = run(["check", str(source)])
    assert checked.exit_code == ExitCode.USAGE and " at at " not in checked.output
