"""`autoformal parse` and `autoformal --version` through the real Typer app."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from autoformal import __version__
from autoformal.cli import app

runner = CliRunner()


def _flat(output: str) -> str:
    """Rich wraps error panels to the terminal width; compare on words."""
    return " ".join(output.replace("│", " ").split())


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"autoformal {__version__}"


def test_parse_json_from_stdin() -> None:
    text = "abbrev answer : ℕ := 3\ntheorem t (n : ℕ) (h : n = answer) : n + 1 = 4 := sorry\n"
    result = runner.invoke(app, ["parse", "-", "--json"], input=text)
    assert result.exit_code == 0, result.stdout
    payload = json.loads(result.stdout)
    theorem = payload["declarations"][1]
    assert theorem["name"] == "t" and theorem["identifiers"] == ["ℕ", "answer"]
    assert [b["name"] for b in theorem["binders"]] == ["n", "h"]
    assert payload["canonical_form"].endswith("x₀ = answer₀ → x₀ + 1 = 4 := sorry")
    assert payload["safe"] == {"ok": True, "reason": "safe"}


def test_parse_table_from_file(tmp_path: Path) -> None:
    path = tmp_path / "s.lean"
    path.write_text("theorem sq (x : ℝ) : 0 ≤ x ^ 2 := by positivity\n", encoding="utf-8")
    result = runner.invoke(app, ["parse", str(path)])
    assert result.exit_code == 0
    assert "theorem sq" in result.stdout and "0 ≤ x ^ 2" in result.stdout
    assert "the proof must be `sorry`" in result.stdout  # the gate's verdict is shown


def test_parse_errors_are_reported_not_raised(tmp_path: Path) -> None:
    result = runner.invoke(app, ["parse", "-", "--json"], input="theorem t : (1 + 1 = 2 := sorry")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"].startswith("unexpected")
    missing = runner.invoke(app, ["parse", str(tmp_path / "nope.lean")])
    assert missing.exit_code != 0 and "no such file" in _flat(missing.output)
    binary = tmp_path / "b.lean"
    binary.write_bytes(b"\xff\xfe\x00")
    bad = runner.invoke(app, ["parse", str(binary)])
    assert bad.exit_code != 0 and "not UTF-8" in _flat(bad.output)


def test_formalize_rejects_non_utf8_stdin_before_any_work() -> None:
    result = runner.invoke(app, ["formalize", "-", "--no-lean"], input=b"\xff\xfe not text")
    assert result.exit_code != 0
    assert "not UTF-8" in _flat(result.output)


def test_pipeline_names_are_exported_lazily() -> None:
    import subprocess
    import sys

    code = (
        "import sys, autoformal; assert 'autoformal.pipeline' not in sys.modules; "
        "from autoformal import Formalizer, FormalizerConfig, FormalizationResult; "
        "assert Formalizer.__module__ == 'autoformal.pipeline'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
