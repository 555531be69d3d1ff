"""Checker configurations (pydantic data) and Lean toolchain discovery."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, HttpUrl, PositiveFloat, PositiveInt, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from autoformal.checking.errors import LeanNotFoundError
from autoformal.envvars import EnvAliasedSettings

LEAN_SETUP_STEPS = (
    "To check statements with Lean:\n"
    "  1. install elan (puts `lake` in ~/.elan/bin):\n"
    "       curl https://elan.lean-lang.org/elan-init.sh -sSf | sh\n"
    "  2. create a Mathlib project:  lake new myproj math && cd myproj\n"
    "  3. fetch Mathlib's prebuilt oleans:  lake exe cache get\n"
    "  4. export AUTOFORMAL_LEAN_PROJECT=$PWD\n"
    "  (optional) point AUTOFORMAL_LEAN_REPL at a built leanprover-community/repl checkout for the same\n"
    "  Lean version; otherwise lean-interact clones and builds it on first use, which needs network access.\n"
    "Or use a running Kimina Lean Server: build_checker(KiminaCheckerConfig(url=...))."
)


def find_lake() -> Path | None:
    """`lake` on PATH, else in `~/.elan/bin` (where elan installs it without touching PATH)."""
    on_path = shutil.which("lake")
    if on_path:
        return Path(on_path)
    elan = Path.home() / ".elan" / "bin" / "lake"
    return elan if elan.is_file() and os.access(elan, os.X_OK) else None


class ReplCheckerConfig(EnvAliasedSettings):
    """A warm pool of Lean REPL processes (leanprover-community/repl driven through lean-interact).

    Defaults suit Mathlib on a workstation: importing Mathlib takes tens of seconds and a few GB per worker,
    so the header timeout is generous and workers are recycled before their memory grows unbounded.
    """

    model_config = SettingsConfigDict(frozen=True, extra="forbid")
    env_aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "project_dir": ("AUTOFORMAL_LEAN_PROJECT",),
        "repl_dir": ("AUTOFORMAL_LEAN_REPL",),
    }

    kind: Literal["repl"] = "repl"
    project_dir: Path | None = Field(
        default=None,
        description="Lean project whose dependencies (Mathlib) statements are checked against.",
    )
    repl_dir: Path | None = Field(
        default=None,
        description="Directory holding a built REPL (`.lake/build/bin/repl`). None: lean-interact fetches "
        "and builds the REPL matching the project's Lean version (network needed once).",
    )
    lake_path: Path | None = Field(default_factory=find_lake, description="`lake`; default: PATH or ~/.elan/bin.")
    temp_mathlib_version: str | None = Field(
        default=None,
        description="Without project_dir: create a temporary Mathlib project for this Lean version "
        "(e.g. 'v4.19.0') through lean-interact. Downloads Mathlib; needs network.",
    )
    num_workers: PositiveInt = 2
    timeout_s: PositiveFloat = Field(default=60.0, description="Per statement; the worker is killed after it.")
    header_timeout_s: PositiveFloat = Field(default=600.0, description="For elaborating a header (imports).")
    memory_limit_mb: PositiveInt | None = Field(
        default=None,
        description="RLIMIT_AS per worker. Lean maps Mathlib's .olean files into its address space, so leave "
        "room (at least ~8192 MB with Mathlib); None: no limit.",
    )
    recycle_after: PositiveInt = Field(default=500, description="Restart a worker after this many statements.")
    max_rss_mb: PositiveFloat | None = Field(
        default=None, description="Restart a worker once its resident memory (with children) exceeds this."
    )
    max_start_failures: PositiveInt = Field(
        default=3, description="Consecutive failed (re)starts of one worker before the checker gives up."
    )
    incremental: bool = Field(default=False, description="lean-interact's `incrementality` REPL option.")
    parallel_elaboration: bool = Field(default=False, description="lean-interact's `Elab.async` option.")

    @field_validator("project_dir", "repl_dir", mode="before")
    @classmethod
    def _expand_user(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None  # an empty variable means unset
        return Path(value).expanduser() if isinstance(value, (str, Path)) else value

    def require_lean(self) -> tuple[Path, Path | None]:
        """(lake, project_dir) or a `LeanNotFoundError` with the exact setup steps."""
        if self.lake_path is None:
            raise LeanNotFoundError(
                f"no Lean toolchain: `lake` is neither on PATH nor in ~/.elan/bin.\n{LEAN_SETUP_STEPS}"
            )
        if self.project_dir is None and self.temp_mathlib_version is None:
            raise LeanNotFoundError(
                "no Lean project: set AUTOFORMAL_LEAN_PROJECT (or ReplCheckerConfig.project_dir).\n" + LEAN_SETUP_STEPS
            )
        if self.project_dir is not None and not (self.project_dir / "lean-toolchain").is_file():
            raise LeanNotFoundError(
                f"{self.project_dir} is not a Lean project (no `lean-toolchain` file).\n{LEAN_SETUP_STEPS}"
            )
        if self.repl_dir is not None and not (self.repl_dir / ".lake" / "build" / "bin" / "repl").exists():
            raise LeanNotFoundError(
                f"AUTOFORMAL_LEAN_REPL={self.repl_dir} has no built REPL at .lake/build/bin/repl; "
                "run `lake build` in that checkout, or unset it to let lean-interact build one."
            )
        return self.lake_path, self.project_dir


class KiminaCheckerConfig(EnvAliasedSettings):
    """A running Kimina Lean Server (`POST /api/check`)."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")
    env_aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "url": ("AUTOFORMAL_KIMINA_URL",),
        "api_key": ("AUTOFORMAL_KIMINA_API_KEY",),
        "server_repls": ("AUTOFORMAL_KIMINA_REPLS",),
    }

    kind: Literal["kimina"] = "kimina"
    url: HttpUrl = HttpUrl("http://127.0.0.1:8000")
    api_key: str | None = None
    timeout_s: PositiveFloat = Field(default=60.0, description="Per statement, enforced by the server.")
    batch_size: PositiveInt = Field(default=8, description="Snippets per HTTP request.")
    server_repls: int = Field(
        default=4,
        description="The server's LEAN_SERVER_MAX_REPLS: how many snippets it elaborates at once "
        "(default: AUTOFORMAL_KIMINA_REPLS, else 4).",
    )
    max_concurrent_requests: PositiveInt = Field(
        default=2,
        description="Requests in flight at once, over all concurrent `check` calls of one checker (default: "
        "KIMINA_SNIPPETS_PER_REPL snippets per server REPL, at least 2 requests).",
    )
    http_timeout_s: PositiveFloat = Field(
        default=600.0,
        description="HTTP read timeout for one batch (the server's per-snippet timeouts add up).",
    )

    @field_validator("server_repls")
    @classmethod
    def _positive_repls(cls, value: int) -> int:
        if value < 1:
            raise ValueError(
                f"server_repls (AUTOFORMAL_KIMINA_REPLS) is {value}; set it to the server's LEAN_SERVER_MAX_REPLS"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _requests_sized_by_the_server(cls, data: Any) -> Any:
        """Unless given, requests in flight follow the server's REPLs: enough that every REPL has work queued
        while replies travel, and no more, since a snippet queued on the server counts against its request's
        safety timeout (timeout x snippets + 10 s)."""
        if not isinstance(data, dict):
            return data
        repls = data.get("server_repls")
        repls = 4 if repls is None or repls == "" else repls
        data = {**data, "server_repls": repls}
        if data.get("max_concurrent_requests") is None:
            wanted = KIMINA_SNIPPETS_PER_REPL * max(1, int(repls)) / int(data.get("batch_size") or 8)
            data["max_concurrent_requests"] = max(2, math.ceil(wanted))
        return data


# Snippets in flight per server REPL when the client sizes its requests: one default-sized request per REPL.
# Fewer leave REPLs idle while replies travel (the server polls each request's completion every 0.1 s); more
# only queue on the server, where the wait counts against each request's safety timeout. Measured with
# benchmarks/kimina_throughput.py (README, Kimina section).
KIMINA_SNIPPETS_PER_REPL = 8
