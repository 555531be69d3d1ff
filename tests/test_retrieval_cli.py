"""`autoformal index build/search/info` end to end on the fixture corpus (real encoder, real files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autoformal.cli import app

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "ix"
    result = CliRunner().invoke(
        app,
        [
            *("index", "build", "--corpus", str(FIXTURES / "decls_small.jsonl"), "--out", str(out)),
            *("--theorems", "--backend", "onnx", "--json"),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["count"] == 43 and summary["embedded"] == 43 and summary["additive_twins"] == 7
    return out


def test_search_table_and_json(built: Path) -> None:
    runner = CliRunner()
    table = runner.invoke(app, ["index", "search", "square root is nonnegative", "--index", str(built), "-k", "3"])
    assert table.exit_code == 0, table.output
    assert "Real.sqrt_nonneg" in table.output and "rank" in table.output
    lines = (
        runner.invoke(
            app, ["index", "search", "square root is nonnegative", "--index", str(built), "-k", "3", "--json"]
        )
        .output.strip()
        .splitlines()
    )
    hits = [json.loads(line) for line in lines]
    assert [hit["rank"] for hit in hits] == [1, 2, 3]
    assert {"name", "signature", "score", "source"} <= hits[0].keys()
    assert "Real.sqrt_nonneg" in [hit["name"] for hit in hits]


def test_rebuild_is_incremental(built: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            *("index", "build", "--corpus", str(FIXTURES / "decls_small.jsonl"), "--out", str(built)),
            *("--theorems", "--backend", "onnx", "--json"),
        ],
    )
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["embedded"], summary["reused"]) == (0, 43)


def test_info(built: Path) -> None:
    result = CliRunner().invoke(app, ["index", "info", str(built), "--json"])
    info = json.loads(result.output)
    assert info["count"] == 43 and info["dimension"] == 384 and info["index_type"] == "flat"
    assert info["model"] == "sentence-transformers/all-MiniLM-L6-v2"


def test_errors_exit_2_with_the_fix(built: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(app, ["index", "search", "  ", "--index", str(built)])
    assert empty.exit_code == 2 and "empty query" in empty.output
    missing = runner.invoke(app, ["index", "info", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "autoformal index build" in missing.output
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"name": "caf\xe9", "kind": "def", "signature": ""}\n')
    result = runner.invoke(app, ["index", "build", "--corpus", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "not valid UTF-8" in result.output
    assert not (tmp_path / "o").exists()
