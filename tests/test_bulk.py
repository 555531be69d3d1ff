"""Bulk formalization: input validation, shards, limit/resume planning, the crash-safe appender, and runs of the
real Formalizer against the loopback OpenAI stub server and the stand-in Lean REPL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_bulk_support import cli_environment, formalizer_config, read_output, write_problems
from typer.testing import CliRunner

from autoformal.bulk import (
    BulkAborted,
    BulkOptions,
    BulkOutputError,
    BulkSummary,
    InputFields,
    InvalidLine,
    JsonlAppender,
    Problem,
    Shard,
    open_output,
    plan_bulk,
    read_problems,
    run_bulk,
)
from autoformal.errors import ConfigurationError
from autoformal.llm.errors import ServerUnreachableError
from autoformal.pipeline import STAGE_NAMES as STAGES
from autoformal.pipeline import Formalizer
from autoformal.testing.openai_server import OpenAIStubServer, ScriptedResponse
from autoformal.testing.standin_repl import StandinInstall, install_standin, read_log


@pytest.fixture
def standin(tmp_path: Path) -> StandinInstall:
    return install_standin(tmp_path / "proj", log_path=tmp_path / "lean.jsonl")


# ------------------------------------------------------------------------------------------- input


def test_invalid_lines_are_reported_with_their_number_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "a", "informal": "one"}),
        "{not json",
        "",
        json.dumps([1, 2]),
        json.dumps({"informal": "no id"}),
        json.dumps({"id": "b"}),
        json.dumps({"id": "a", "informal": "again"}),
        json.dumps({"id": 7, "problem": "numeric id, other text field"}),
        json.dumps({"id": "c", "informal": "x", "header": 3}),
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "d", "informal": "\xff"}\n')
    items = list(read_problems(path))
    problems = [i for i in items if isinstance(i, Problem)]
    invalid = {i.line: i.reason for i in items if isinstance(i, InvalidLine)}
    assert [(p.id, p.text, p.line) for p in problems] == [("a", "one", 1), ("7", "numeric id, other text field", 8)]
    assert sorted(invalid) == [2, 4, 5, 6, 7, 9, 10]
    assert invalid[2].startswith("not JSON")
    assert "expected a JSON object" in invalid[4]
    assert "--id-field" in invalid[5]
    assert "--text-field" in invalid[6]
    assert invalid[7] == "duplicate id 'a' (first on line 1)"
    assert "must be a string" in invalid[9]
    assert invalid[10].startswith("not UTF-8")


def test_field_names_are_configurable(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"name": "q1", "nl": "text", "hdr": "import Mathlib"}) + "\n", encoding="utf-8")
    (problem,) = read_problems(path, InputFields(id="name", text="nl", header="hdr"))
    assert isinstance(problem, Problem)
    assert (problem.id, problem.text, problem.header) == ("q1", "text", "import Mathlib")


@pytest.mark.shared_data
def test_shared_benchmark_files_are_read_as_they_are(shared_data: Path) -> None:
    files = sorted((shared_data / "benchmarks").glob("*.jsonl"))
    assert files
    for file in files:
        items = list(read_problems(file))
        invalid = [i for i in items if isinstance(i, InvalidLine)]
        assert items and not invalid, f"{file.name}: {invalid[:3]}"


def test_shards_partition_the_ids_stably() -> None:
    ids = [f"problem-{i}" for i in range(1000)]
    shards = [Shard.parse(f"{i}/4") for i in range(4)]
    owners = [[s.index for s in shards if s.contains(i)] for i in ids]
    assert all(len(o) == 1 for o in owners)
    sizes = [sum(o == [k] for o in owners) for k in range(4)]
    assert all(200 < size < 300 for size in sizes), sizes
    assert [s.index for s in shards if s.contains("problem-17")] == owners[17]  # same answer on every call
    for bad in ["4/4", "1", "a/b", "-1/2", "0/0"]:
        with pytest.raises(ConfigurationError, match="use i/n"):
            Shard.parse(bad)


def test_limit_counts_before_resume_so_reruns_finish_the_same_problems(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    ids = write_problems(path, 10)
    plan = plan_bulk(path, BulkOptions(limit=4), done_ids=frozenset(ids[:2]))
    assert [p.id for p in plan.todo] == ids[2:4]
    assert (plan.valid, plan.already_done, plan.beyond_limit) == (10, 2, 6)
    shard = Shard.parse("1/3")
    plan = plan_bulk(path, BulkOptions(shard=shard))
    assert [p.id for p in plan.todo] == [i for i in ids if shard.contains(i)]
    assert plan.outside_shard == 10 - len(plan.todo)


# ------------------------------------------------------------------------------------------- output


def test_resume_truncates_a_torn_last_line_and_lists_done_ids(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"id":"a","candidates":[]}\n{"id":"b","candidates":[]}\n{"id":"c","cand')
    seen: list[dict[str, Any]] = []
    with JsonlAppender(out) as writer:
        recovery = writer.recover(seen.append)
        assert recovery.done_ids == {"a", "b"} and recovery.torn_tail_bytes == len(b'{"id":"c","cand')
        writer.append({"id": "c", "text": "line\nbreak ∀"})
    assert [r["id"] for r in seen] == ["a", "b"]
    assert read_output(out)[-1] == {"id": "c", "text": "line\nbreak ∀"}


@pytest.mark.parametrize(
    "content, message",
    [(b'{"id":"a"}\nnot json\n{"id":"b"}\n', "line 2"), (b'{"id":"a"}\n{"id":"a"}\n', "appears twice")],
)
def test_a_damaged_output_is_refused_not_guessed(tmp_path: Path, content: bytes, message: str) -> None:
    out = tmp_path / "out.jsonl"
    out.write_bytes(content)
    with JsonlAppender(out) as writer, pytest.raises(BulkOutputError, match=message):
        writer.recover()
    assert out.read_bytes() == content


def test_one_writer_per_output_and_no_silent_append(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with JsonlAppender(out) as writer:
        writer.append({"id": "x"})
        with pytest.raises(BulkOutputError, match="locked by another"):
            JsonlAppender(out)
    with pytest.raises(BulkAborted, match="--resume"):
        open_output(out, BulkOptions(), BulkSummary())
    writer, recovery = open_output(out, BulkOptions(overwrite=True), BulkSummary())
    writer.close()
    assert recovery.records == 0 and out.read_bytes() == b""


# ------------------------------------------------------------------------------------------- runs


async def test_run_writes_every_problem_once_with_lean_verdicts(tmp_path: Path, standin: StandinInstall) -> None:
    path, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_problems(path, 12)
    with open(path, "a", encoding="utf-8") as f:  # a per-problem header the checker refuses: written with the error
        f.write(json.dumps({"id": "bad-header", "informal": "x", "header": "import Mathlib\n#eval 1"}) + "\n")
    options = BulkOptions(concurrency=4, fsync_interval_s=0)
    summary = BulkSummary()
    with OpenAIStubServer(latency_s=0.01) as server:
        async with Formalizer(formalizer_config(server, standin)) as formalizer:
            writer, _ = open_output(out, options, summary)
            with writer:
                plan = plan_bulk(path, options)
                await run_bulk(plan.todo, formalizer, writer, summary, concurrency=4)
    records = {r["id"]: r for r in read_output(out)}
    assert sorted(records) == sorted([*ids, "bad-header"])
    assert "UnsafeHeaderError" in records["bad-header"]["errors"][0]  # type: ignore[index]
    good = records[ids[0]]
    assert good["lean_checked"] is True and good["stage_counts"]["generated"] == 3  # type: ignore[index]
    assert all(c["lean"]["ok"] for c in good["candidates"])  # type: ignore[union-attr]
    assert summary.written == 13 and summary.with_elaborating_candidate == 12 and summary.failed == 0
    assert summary.stage_totals["generated"] == 36 and summary.survival["elaborated"] == 1.0
    summary.add_record({"stage_counts": {"generated": 2, "ranked": 1, "names": 1, "safe": 1}})
    assert list(summary.stage_totals) == [s for s in STAGES if s in summary.stage_totals]  # pipeline order
    # what the stand-in Lean saw: the candidates of every good problem, nothing of the refused header
    sent = [e["request"]["cmd"] for e in read_log(standin.log_path or "") if "env" in e.get("request", {})]
    assert len(sent) == 36 and not any("#eval" in cmd for cmd in sent)


async def test_transient_failures_are_not_written_and_resume_retries_them(tmp_path: Path) -> None:
    path, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_problems(path, 6)
    options = BulkOptions(concurrency=1, resume=True)
    with OpenAIStubServer() as server:
        # max_retries=1: two 500s exhaust one request's retries, so exactly the first problem fails
        server.script(ScriptedResponse(status=500), ScriptedResponse(status=500))
        async with Formalizer(formalizer_config(server, None)) as formalizer:
            summary = BulkSummary()
            writer, _ = open_output(out, options, summary)
            with writer:
                await run_bulk(plan_bulk(path, options).todo, formalizer, writer, summary, concurrency=1)
            assert (summary.written, summary.failed) == (5, 1)
            assert summary.failures[0].startswith(f"{ids[0]}: ")
            assert sorted(r["id"] for r in read_output(out)) == ids[1:]

            summary = BulkSummary()
            writer, recovery = open_output(out, options, summary)
            with writer:
                plan = plan_bulk(path, options, recovery.done_ids)
                assert [p.id for p in plan.todo] == [ids[0]]
                await run_bulk(plan.todo, formalizer, writer, summary, concurrency=1)
    assert sorted(r["id"] for r in read_output(out)) == ids
    assert summary.records == 6 and summary.written == 1 and summary.lean_checked == 0


async def test_a_dead_endpoint_stops_the_run_without_writing(tmp_path: Path) -> None:
    path, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_problems(path, 5)
    with OpenAIStubServer() as server:
        config = formalizer_config(server, None)
    # the server is stopped: every request is refused, which no retry or resume within this run can fix
    async with Formalizer(config) as formalizer:
        summary = BulkSummary()
        writer, _ = open_output(out, BulkOptions(), summary)
        with writer, pytest.raises(ServerUnreachableError):
            await run_bulk(plan_bulk(path, BulkOptions()).todo, formalizer, writer, summary, concurrency=2)
    assert out.read_bytes() == b""


def test_cli_dry_run_counts_and_estimates(tmp_path: Path) -> None:
    from autoformal.cli import app

    path, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_problems(path, 20)
    out.write_text("".join(json.dumps({"id": i, "elapsed_s": 2.0}) + "\n" for i in ids[:5]), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["bulk", str(path), "-o", str(out), "--resume", "--dry-run", "--limit", "10", "-c", "5", "--json"]
    )
    assert result.exit_code == 0, result.output
    estimate = json.loads(result.stdout.strip().splitlines()[-1])
    assert estimate["todo"] == 5 and estimate["already_done"] == 5 and estimate["beyond_limit"] == 10
    assert estimate["estimated_seconds"] == pytest.approx(5 * 2.0 / 5)


def test_cli_run_on_the_example_problems_then_resume_is_a_no_op(
    tmp_path: Path, standin: StandinInstall, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autoformal.cli import app

    example = Path(__file__).resolve().parents[1] / "examples" / "bulk" / "problems.jsonl"
    out = tmp_path / "out.jsonl"
    with OpenAIStubServer() as server:
        for key, value in cli_environment(server, standin, tmp_path / "cache").items():
            monkeypatch.setenv(key, value)
        first = CliRunner().invoke(app, ["bulk", str(example), "-o", str(out), "--samples", "2", "--json"])
        assert first.exit_code == 0, first.output
        again = CliRunner().invoke(app, ["bulk", str(example), "-o", str(out), "--resume", "--json"])
        assert again.exit_code == 0, again.output
        requests = len(server.chat_requests)
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["written"] == summary["records"] == summary["with_elaborating_candidate"] == 12
    assert summary["survival"]["elaborated"] == 1.0 and summary["stage_seconds"]["generated"] > 0
    resumed = json.loads(again.stdout.strip().splitlines()[-1])
    assert resumed["written"] == 0 and resumed["records"] == 12 and requests == 12
    records = read_output(out)
    assert len(records) == len({r["id"] for r in records}) == 12
