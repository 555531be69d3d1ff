"""Bulk on a real local Ray cluster (2 CPUs), with the loopback OpenAI-compatible server and the stand-in Lean
REPL: a full run, an actor killed mid-run, a poison problem, two endpoints of which one goes down, and the CLI
interrupted by SIGINT then resumed. Every case checks the output for exactly-once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'autoformal[ray]')")

from autoformal.bulk import BulkSummary  # noqa: E402
from autoformal.bulk.inputs import Problem  # noqa: E402
from autoformal.bulk.output import JsonlAppender  # noqa: E402
from autoformal.bulk.ray_runner import RayOptions, run_bulk_on_ray  # noqa: E402
from autoformal.config import FormalizerConfig  # noqa: E402
from autoformal.llm.config import OpenAIBackendConfig  # noqa: E402
from autoformal.pipeline import Formalizer  # noqa: E402
from autoformal.testing.openai_server import OpenAIStubServer  # noqa: E402
from autoformal.testing.standin_repl import install_standin  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def responder(request: dict[str, Any]) -> list[str]:
    n = int(request.get("n") or 1)
    return ["```lean\ntheorem t (n : Nat) : n + 0 = n := by sorry\n```"] * n


class PoisonedFormalizer:
    """A formalizer whose process dies on problems whose text says POISON (or, once, CRASH-ONCE: a marker file
    records the first death), standing in for a Lean segfault or an OOM kill that takes the actor with it."""

    def __init__(self, config: FormalizerConfig, marker: str) -> None:
        self.inner = Formalizer(config)
        self.marker = marker

    async def aformalize(self, text: str, *, header: str | None = None, context: str | None = None) -> Any:
        if "POISON" in text:
            os._exit(1)
        if "CRASH-ONCE" in text and not os.path.exists(self.marker):
            Path(self.marker).touch()
            os._exit(1)
        return await self.inner.aformalize(text, header=header, context=context)


def _config(server_urls: str, lean_dir: Path, cache: Path) -> FormalizerConfig:
    return FormalizerConfig(
        backend=OpenAIBackendConfig(base_url=server_urls, model="stub-model", timeout_s=5, max_retries=0),
        samples=2,
        backtranslation=False,
        retrieval="off",
        examples=0,
        names=None,
        cache=False,
        cache_path=cache,
        checker={"kind": "repl", "project_dir": lean_dir, "repl_dir": lean_dir, "lake_path": lean_dir / "lake"},
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    # the actors import this module (its factories) the way pytest does: with tests/ on the path
    path = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             runtime_env={"env_vars": {"PYTHONPATH": path}})  # fmt: skip
    yield ray
    ray.shutdown()


@pytest.fixture
def lean_dir(tmp_path: Path) -> Path:
    return install_standin(tmp_path / "proj").directory


def _problems(n: int, extra: dict[int, str] | None = None) -> list[Problem]:
    extra = extra or {}
    return [Problem(id=f"p{i}", text=extra.get(i, f"Problem {i}: n + 0 = n."), line=i + 1) for i in range(n)]


def _run(config: FormalizerConfig, out: Path, problems: list[Problem], **kwargs: Any) -> BulkSummary:
    summary = BulkSummary()
    with JsonlAppender(out, fsync_interval_s=0) as writer:
        writer.recover(summary.add_record)
        run_bulk_on_ray(problems, config, writer, summary, **kwargs)
    return summary


def _ids(out: Path) -> list[str]:
    return [json.loads(line)["id"] for line in out.read_text().splitlines()]


def test_full_run_exactly_once(cluster: Any, lean_dir: Path, tmp_path: Path) -> None:
    with OpenAIStubServer(responder) as server:
        url = server.base_url.rstrip("/")
        config = _config(url, lean_dir, tmp_path / "c.sqlite")
        out = tmp_path / "out.jsonl"
        infos: list[Any] = []
        _run(config, out, _problems(20), options=RayOptions(actors=2, cpus_per_actor=1, per_actor_concurrency=4),
             on_start=infos.append)  # fmt: skip
    ids = _ids(out)
    assert sorted(ids) == sorted(f"p{i}" for i in range(20)) and len(ids) == 20
    record = json.loads(out.read_text().splitlines()[0])
    assert record["lean_checked"] is True and record["candidates"][0]["lean"]["ok"] is True
    (info,) = infos
    assert info.nodes == 1 and info.actors == 2 and info.endpoints == [url]


def test_killed_actor_is_restarted_and_its_problems_retried(cluster: Any, lean_dir: Path, tmp_path: Path) -> None:
    marker = str(tmp_path / "crashed-once")
    with OpenAIStubServer(responder, latency_s=0.2) as server:
        config = _config(server.base_url, lean_dir, tmp_path / "c.sqlite")
        out = tmp_path / "out.jsonl"
        killed: list[str] = []
        runs: list[Any] = []

        def kill_one(counts: dict[str, int]) -> None:
            if counts["done"] >= 4 and not killed:
                actor = ray.get_actor(f"{runs[0].run}-0")
                ray.kill(actor, no_restart=False)  # as an OOM kill or a lost node would
                killed.append("yes")

        summary = _run(
            config,
            out,
            _problems(24, {10: "CRASH-ONCE problem"}),
            options=RayOptions(actors=2, per_actor_concurrency=3, max_task_retries=3),
            on_tick=kill_one,
            on_start=runs.append,
            factory=lambda c: PoisonedFormalizer(c, marker),
        )
    assert killed and os.path.exists(marker)
    ids = _ids(out)
    assert len(ids) == len(set(ids)) == 24 and summary.failed == 0
    empty = [line for line in out.read_text().splitlines() if not json.loads(line)["candidates"]]
    assert not empty


def test_poison_problem_is_written_as_failed(cluster: Any, lean_dir: Path, tmp_path: Path) -> None:
    with OpenAIStubServer(responder) as server:
        config = _config(server.base_url, lean_dir, tmp_path / "c.sqlite")
        out = tmp_path / "out.jsonl"
        _run(
            config,
            out,
            _problems(8, {3: "POISON: kills its actor every time"}),
            options=RayOptions(actors=2, per_actor_concurrency=2, max_task_retries=1),
            factory=lambda c: PoisonedFormalizer(c, str(tmp_path / "unused")),
        )
    records = {json.loads(line)["id"]: json.loads(line) for line in out.read_text().splitlines()}
    assert len(records) == 8 and len(_ids(out)) == 8
    assert records["p3"]["candidates"] == [] and "died 3 times" in records["p3"]["errors"][0]
    assert "nothing else running" in records["p3"]["errors"][0]
    assert all(records[f"p{i}"]["candidates"] for i in range(8) if i != 3)


def test_two_endpoints_one_goes_down_mid_run(cluster: Any, lean_dir: Path, tmp_path: Path) -> None:
    with OpenAIStubServer(responder, latency_s=0.05) as a, OpenAIStubServer(responder, latency_s=0.05) as b:
        config = _config(f"{a.base_url},{b.base_url}", lean_dir, tmp_path / "c.sqlite")
        out = tmp_path / "out.jsonl"
        stopped: list[int] = []

        def stop_a(counts: dict[str, int]) -> None:
            if counts["done"] >= 5 and not stopped:
                stopped.append(len(a.chat_requests))
                a.stop()

        summary = _run(config, out, _problems(30), options=RayOptions(actors=2, per_actor_concurrency=3),
                       on_tick=stop_a)  # fmt: skip
        assert stopped and stopped[0] > 0 and len(b.chat_requests) > 0
    ids = _ids(out)
    assert len(ids) == len(set(ids)) == 30 and summary.failed == 0


def test_cli_sigint_then_resume(tmp_path: Path, lean_dir: Path) -> None:
    problems = tmp_path / "in.jsonl"
    problems.write_text("".join(json.dumps({"id": f"q{i}", "informal": f"Problem {i}."}) + "\n" for i in range(40)))
    out = tmp_path / "out.jsonl"
    with OpenAIStubServer(responder, latency_s=0.3) as server:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "AUTOFORMAL_BASE_URL": server.base_url,
            "AUTOFORMAL_MODEL": server.model,
            "AUTOFORMAL_LEAN_PROJECT": str(lean_dir),
            "AUTOFORMAL_LEAN_REPL": str(lean_dir),
            "PATH": f"{lean_dir}{os.pathsep}{os.environ['PATH']}",
            "AUTOFORMAL_CACHE_PATH": str(tmp_path / "cache.sqlite"),
            "AUTOFORMAL_RETRIEVAL": "off",
            "AUTOFORMAL_EXAMPLES": "0",
            "AUTOFORMAL_BACKTRANSLATION": "false",
        }
        command = [sys.executable, "-c", "from autoformal.cli import main; main()", "bulk", str(problems),
                   "-o", str(out), "--ray", "local", "--actors", "2", "-k", "2", "-c", "2"]  # fmt: skip
        first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (not out.exists() or len(out.read_bytes().splitlines()) < 3):
            time.sleep(0.2)
        first.send_signal(signal.SIGINT)
        _, stderr = first.communicate(timeout=120)
        assert first.returncode == 130, stderr.decode()
        assert b"--resume" in stderr and b"Traceback" not in stderr
        written = _ids(out)
        assert 3 <= len(written) < 40
        second = subprocess.run([*command, "--resume"], env=env, capture_output=True, cwd=tmp_path, timeout=300)
        assert second.returncode == 0, second.stderr.decode()
    ids = _ids(out)
    assert len(ids) == len(set(ids)) == 40
    assert ids[: len(written)] == written  # nothing rewritten
