"""Start-up cost of the command line, each command in a fresh process as a user runs it:

- `autoformal --help` and `autoformal parse FILE` on one statement: CPU time (user + system) of the process;
  `parse` also with an `AUTOFORMAL_*` variable set (`AUTOFORMAL_MODEL`, as a user's shell often has), which the
  misspelled-variable check looks at;
- one-shot `autoformal formalize --no-lean TEXT --json` against an instant local OpenAI-compatible server
  (`autoformal.testing.openai_server`, in this process): wall and CPU time, with a fresh LLM cache each run
  so the server is really asked; and each such command once more, answered by its LLM cache (wall time: the
  start-up work that must not be moved into a cached run, such as importing the HTTP client it never uses).

The caches a user's second run finds (the grammar's parser, the ONNX export, the few-shot examples' vectors)
are warmed by untimed runs first; `parse_cold_cpu_s` is a parse from an empty cache directory. The figures are
the best of --repeat runs, because other processes load the machine.

Usage: python benchmarks/startup.py [--repeat 5] [--repo PATH]   (--repo: measure another checkout, e.g. main)
Last line: JSON with the figures, the targets and the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _shared import REPO_ROOT, load_average

from autoformal.testing.openai_server import OpenAIStubServer

STATEMENT = "theorem add_zero' (x : ℕ) (h : 0 < x) : x + 0 = x := sorry\n"
INFORMAL = "The sum of two even natural numbers is even."
# The CLI's entry point as the `autoformal` console script calls it.
ENTRY = "import sys; from autoformal.cli import main; sys.argv[0] = 'autoformal'; main()"
TARGETS = {"help_cpu_s": 0.3, "parse_cpu_s": 0.5, "parse_env_cpu_s": 0.5, "formalize_wall_s": 2.0}


def run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one CLI process; fails loudly if the command fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", ENTRY, *args], env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"`autoformal {' '.join(args)}` failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--repo", type=Path, default=REPO_ROOT, help="checkout whose autoformal the CLI runs")
    args = ap.parse_args()
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        statement = tmp / "statement.lean"
        statement.write_text(STATEMENT, encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(args.repo), os.environ.get("PYTHONPATH")])))
        for variable in ("AUTOFORMAL_CONFIG", "AUTOFORMAL_RETRIEVAL"):
            env.pop(variable, None)

        parse_cold_cpu, _ = run(["parse", str(statement)], dict(env, AUTOFORMAL_CACHE_DIR=str(tmp / "empty")), tmp)
        run(["parse", str(statement)], env, tmp)
        help_cpu = min(run(["--help"], env, tmp)[0] for _ in range(args.repeat))
        parse_cpu = min(run(["parse", str(statement)], env, tmp)[0] for _ in range(args.repeat))
        with_variable = dict(env, AUTOFORMAL_MODEL="some-model")
        parse_env_cpu = min(run(["parse", str(statement)], with_variable, tmp)[0] for _ in range(args.repeat))
        print(f"--help            {help_cpu:6.3f} s CPU (target ≤ {TARGETS['help_cpu_s']})")
        print(f"parse (warm)      {parse_cpu:6.3f} s CPU (target ≤ {TARGETS['parse_cpu_s']}); cold cache "
              f"{parse_cold_cpu:.3f} s")
        print(f"parse, variable set {parse_env_cpu:6.3f} s CPU (target ≤ {TARGETS['parse_env_cpu_s']})")

        formalize_runs, rerun_walls = [], []
        with OpenAIStubServer() as server:
            env.update(AUTOFORMAL_BASE_URL=server.base_url, AUTOFORMAL_MODEL=server.model)
            warm_up = dict(env, AUTOFORMAL_CACHE_PATH=str(tmp / "warm.sqlite"))
            run(["formalize", "--no-lean", INFORMAL, "--json"], warm_up, tmp)
            for n in range(args.repeat):
                fresh = dict(env, AUTOFORMAL_CACHE_PATH=str(tmp / f"llm-{n}.sqlite"))
                formalize_runs.append(run(["formalize", "--no-lean", INFORMAL, "--json"], fresh, tmp))
                # The same command again: the LLM cache answers, and the HTTP client need not be imported at all.
                rerun_walls.append(run(["formalize", "--no-lean", INFORMAL, "--json"], fresh, tmp)[1])
        formalize_cpu = min(cpu for cpu, _ in formalize_runs)
        formalize_wall = min(wall for _, wall in formalize_runs)
        rerun_wall = min(rerun_walls)
        print(f"formalize one-shot {formalize_wall:6.3f} s wall (target ≤ {TARGETS['formalize_wall_s']}), "
              f"{formalize_cpu:.3f} s CPU; again, answered by the LLM cache: {rerun_wall:.3f} s wall")
    result = {
        "help_cpu_s": round(help_cpu, 3),
        "parse_cpu_s": round(parse_cpu, 3),
        "parse_cold_cpu_s": round(parse_cold_cpu, 3),
        "parse_env_cpu_s": round(parse_env_cpu, 3),
        "formalize_wall_s": round(formalize_wall, 3),
        "formalize_cpu_s": round(formalize_cpu, 3),
        "formalize_cached_rerun_wall_s": round(rerun_wall, 3),
        "repeat": args.repeat,
        "repo": str(args.repo),
        "targets": TARGETS,
        "load_average_1m": [load_before, load_average()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
