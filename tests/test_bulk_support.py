"""Shared set-up for the bulk and docstrings tests: the real `Formalizer` wired to the loopback OpenAI stub server
and the stand-in Lean REPL (launched by lean-interact exactly like the real one)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from autoformal.checking import ReplCheckerConfig
from autoformal.config import FormalizerConfig
from autoformal.llm.config import OpenAIBackendConfig
from autoformal.testing.openai_server import OpenAIStubServer
from autoformal.testing.standin_repl import StandinInstall


def formalizer_config(
    server: OpenAIStubServer, standin: StandinInstall | None, **overrides: object
) -> FormalizerConfig:
    """Retrieval, few-shot examples and back-translation are off: they need an index / the sentence encoder and
    are not what these tests are about (the LLM, the gate, Lean and the ranking all run for real)."""
    settings: dict[str, object] = {
        "backend": OpenAIBackendConfig(base_url=server.base_url, model=server.model, max_retries=1),
        "samples": 3,
        "lean": standin is not None,
        "retrieval": "off",
        "examples": 0,
        "backtranslation": False,
        "cache": False,
        **overrides,
    }
    if standin is not None:
        settings["checker"] = ReplCheckerConfig(
            project_dir=standin.directory,
            repl_dir=standin.directory,
            lake_path=standin.lake,
            num_workers=2,
            timeout_s=10.0,
            header_timeout_s=30.0,
        )
    return FormalizerConfig(**settings)  # type: ignore[arg-type]


def cli_environment(server: OpenAIStubServer, standin: StandinInstall, cache_dir: Path) -> dict[str, str]:
    """Environment for running the `autoformal` CLI against the stub server and the stand-in (subprocess or
    CliRunner): the same settings as `formalizer_config`, through `AUTOFORMAL_*` variables."""
    env = dict(os.environ)
    env.update(
        {
            "AUTOFORMAL_BASE_URL": server.base_url,
            "AUTOFORMAL_MODEL": server.model,
            "AUTOFORMAL_LEAN_PROJECT": str(standin.directory),
            "AUTOFORMAL_LEAN_REPL": str(standin.directory),
            "PATH": f"{standin.directory}{os.pathsep}{env.get('PATH', '')}",  # the stand-in `lake`
            "AUTOFORMAL_RETRIEVAL": "off",
            "AUTOFORMAL_EXAMPLES": "0",
            "AUTOFORMAL_BACKTRANSLATION": "false",
            "AUTOFORMAL_CACHE_DIR": str(cache_dir),
        }
    )
    env.pop("AUTOFORMAL_CONFIG", None)
    return env


def write_problems(path: Path, count: int, *, prefix: str = "p") -> list[str]:
    ids = [f"{prefix}{i:04d}" for i in range(count)]
    with path.open("w", encoding="utf-8") as f:
        for i, problem_id in enumerate(ids):
            f.write(json.dumps({"id": problem_id, "informal": f"Show that {i} + n = n + {i} for every natural n."}))
            f.write("\n")
    return ids


def read_output(path: Path) -> list[dict[str, object]]:
    """Every line of a bulk output, asserting each is one complete JSON object."""
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), "output ends with a partial line"
    return [json.loads(line) for line in data.split(b"\n")[:-1]]
