"""Helpers shared by the benchmark scripts: where ../shared is, and machine-load context for honest figures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autoformal.checking import ReplCheckerConfig

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$AUTOFORMAL_SHARED_DIR/data`` or ``<repo>/../shared/data``; it may be absent, each script decides how
    to say so."""
    return Path(os.environ.get("AUTOFORMAL_SHARED_DIR", REPO_ROOT.parent / "shared")) / "data"


def load_average() -> float:
    """1-minute load average: figures measured on a busy machine say so."""
    return round(os.getloadavg()[0], 2)


def record_requests(backend: Any) -> list[Any]:
    """Every `GenerationRequest` `backend` (a Formalizer's `raw_backend`, behind the cache) receives from now on,
    in order: the benchmarks replay exactly these to measure the LLM's own time."""
    sent: list[Any] = []
    original = backend.agenerate

    async def recording(requests: list[Any]) -> Any:
        sent.extend(requests)
        return await original(requests)

    backend.agenerate = recording
    return sent


def lean_or_standin(tmp: Path, workers: int) -> tuple[str, Path, Path, ReplCheckerConfig]:
    """(backend name, lake, project dir, pool config): real Lean when `lake` is found and
    AUTOFORMAL_LEAN_PROJECT is set, else the stand-in REPL installed under `tmp`."""
    from autoformal.checking import ReplCheckerConfig, find_lake
    from autoformal.testing.standin_repl import install_standin

    lake, project = find_lake(), os.environ.get("AUTOFORMAL_LEAN_PROJECT")
    if lake is not None and project:
        return (
            "real-lean",
            lake,
            Path(project),
            ReplCheckerConfig(project_dir=Path(project), lake_path=lake, num_workers=workers),
        )
    install = install_standin(tmp / "standin")
    config = ReplCheckerConfig(
        project_dir=install.directory, repl_dir=install.directory, lake_path=install.lake, num_workers=workers
    )
    return "standin", install.lake, install.directory, config
