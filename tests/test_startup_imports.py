"""Start-up hygiene: the CLI's import and the package's import load none of the heavy libraries (the figures
themselves are in benchmarks/startup.py), and the lazy exports still resolve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import autoformal
import autoformal.retrieval

REPO_ROOT = Path(__file__).resolve().parents[1]
HEAVY = ["numpy", "lark", "pydantic", "torch", "transformers", "onnxruntime", "faiss", "openai", "asyncio",
         "autoformal.syntax", "autoformal.pipeline"]


def _loaded_after(statement: str) -> dict[str, bool]:
    code = f"import json, sys\n{statement}\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    loaded: dict[str, bool] = json.loads(out.stdout)
    return loaded


def test_importing_the_cli_loads_no_heavy_library() -> None:
    loaded = _loaded_after("import autoformal.cli")
    assert not [name for name, present in loaded.items() if present]


def test_importing_retrieval_defaults_loads_no_heavy_library() -> None:
    loaded = _loaded_after("from autoformal.retrieval.defaults import DEFAULT_INDEX_DIR, DEFAULT_MODEL")
    assert not [name for name, present in loaded.items() if present]


def test_lazy_exports_resolve_to_the_real_objects() -> None:
    from autoformal.retrieval.embedder import Embedder
    from autoformal.syntax import check_safe, parse_document

    assert autoformal.parse_document is parse_document
    assert autoformal.check_safe is check_safe
    assert autoformal.retrieval.Embedder is Embedder
    assert autoformal.retrieval.DEFAULT_MODEL == "sentence-transformers/all-MiniLM-L6-v2"
    for name in autoformal.__all__:
        assert getattr(autoformal, name) is not None
    for name in autoformal.retrieval.__all__:
        assert getattr(autoformal.retrieval, name) is not None


def test_the_configuration_models_load_no_lean_client() -> None:
    # `autoformal.checking` exports lazily: a run without Lean (`--no-lean`) never needs the Kimina client's
    # HTTP library or the REPL pool, and the configuration only needs the checkers' settings.
    code = (
        "import json, sys\nimport autoformal.config, autoformal.pipeline\n"
        "print(json.dumps([m for m in ('httpx', 'autoformal.checking.kimina', 'autoformal.checking.repl') "
        "if m in sys.modules]))"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
