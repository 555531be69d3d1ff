"""Acceptance: `autoformal bulk` killed with SIGKILL at random points, then resumed, ends with every id exactly once
and every line a complete JSON object.

The CLI runs as a real subprocess against the loopback OpenAI stub server (in this process) and the stand-in
Lean REPL; nothing is mocked. Kill points are random (seeded and printed, so a failure can be replayed): some
while the process is still starting, most after a random number of lines has been written."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_bulk_support import cli_environment, read_output, write_problems

from autoformal.testing.openai_server import OpenAIStubServer
from autoformal.testing.standin_repl import install_standin

PROBLEMS = 240
KILLS = 5
CLI = [sys.executable, "-c", "from autoformal.cli import main; main()"]


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sigkill_at_random_points_then_resume_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("AUTOFORMAL_SIGKILL_SEED", random.randrange(1 << 30)))
    print(f"kill schedule seed: {seed} (replay with AUTOFORMAL_SIGKILL_SEED={seed})")
    rng = random.Random(seed)
    path, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_problems(path, PROBLEMS)
    standin = install_standin(tmp_path / "proj")
    command = [*CLI, "bulk", str(path), "-o", str(out), "--resume", "--samples", "2", "-c", "16"]
    kills: list[tuple[int, int]] = []  # (lines before the kill, lines after it)
    with OpenAIStubServer(latency_s=0.02) as server:
        env = cli_environment(server, standin, tmp_path / "cache")
        for attempt in range(KILLS):
            before = _lines(out)
            # the first kill may land during start-up (imports, Lean workers starting), the others mid-run
            target = before + (rng.randint(0, 3) if attempt == 0 else rng.randint(1, (PROBLEMS - before) // 3 + 1))
            log = tmp_path / f"stderr-{attempt}.txt"
            with log.open("wb") as stderr:
                process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
                deadline = time.monotonic() + 90
                while _lines(out) < target and process.poll() is None and time.monotonic() < deadline:
                    time.sleep(rng.uniform(0.0, 0.05))
                assert process.poll() is None, f"bulk exited before the kill: {log.read_text()[-2000:]}"
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)
            kills.append((before, _lines(out)))
        final = subprocess.run(command, env=env, capture_output=True, timeout=180)
    assert final.returncode == 0, final.stderr.decode()[-3000:]
    records = read_output(out)  # every line complete and valid JSON
    written = [r["id"] for r in records]
    assert sorted(written) == ids, "every id exactly once"
    assert all(r["candidates"] and r["lean_checked"] for r in records)
    progress = [after for _, after in kills]
    assert progress == sorted(progress) and progress[-1] < PROBLEMS, f"kills did not land mid-run: {kills}"
    print(f"kills (lines before, after): {kills}; final run added {PROBLEMS - progress[-1]}")
