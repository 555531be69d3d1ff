"""A content-addressed SQLite cache of LLM completions and Lean results, so re-running a batch costs nothing
and an interrupted run resumes where it stopped.

Keys are SHA-256 digests of everything that determines the answer (model, full request incl. seed and
sampling parameters; Lean project, header, statement). Values are the pydantic results as JSON. The
database runs in WAL mode with a busy timeout, so several processes (and threads) can share one file.
`CachedBackend` and `CachedChecker` wrap any `LLMBackend` / `LeanChecker` and keep their protocols.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from autoformal._paths import cache_root
from autoformal.checking.models import CheckResult, CheckStatus
from autoformal.checking.protocol import LeanChecker, run_coroutine_sync
from autoformal.checking.trusted import JobOutcome, ProofJob, TrustedProver, UntrustedStatementError
from autoformal.llm.base import LLMBackend
from autoformal.llm.models import GenerationRequest, GenerationResult

_Model = TypeVar("_Model", bound=BaseModel)

#: Bump when the meaning of a cached value changes, so stale entries are never read.
_SCHEMA = 1
# Lean outcomes worth remembering: a verdict. Timeouts and crashes depend on load, so they are retried.
_CACHEABLE_STATUSES = frozenset({CheckStatus.OK, CheckStatus.ERROR, CheckStatus.REJECTED_UNSAFE})


def default_cache_path() -> Path:
    """`$AUTOFORMAL_CACHE_DIR/cache.sqlite`, else `~/.cache/autoformal/cache.sqlite`."""
    return cache_root() / "cache.sqlite"


def cache_key(*parts: Any) -> str:
    """SHA-256 of the parts as canonical JSON."""
    payload = json.dumps([_SCHEMA, *parts], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class Cache:
    """Key → JSON text, grouped by namespace (`llm`, `lean`). Thread-safe; process-safe through SQLite."""

    @staticmethod
    def key(*parts: Any) -> str:
        """`cache_key`, for users that hold a cache but must not import this module (checking: no import cycle)."""
        return cache_key(*parts)

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS entries (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
            " created REAL NOT NULL, PRIMARY KEY (namespace, key)) WITHOUT ROWID"
        )
        self.hits = 0
        self.misses = 0

    def get_many(self, namespace: str, keys: Sequence[str]) -> dict[str, str]:
        if not keys:
            return {}
        found: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, value FROM entries WHERE namespace = ? AND key IN ({marks})", [namespace, *chunk]
                ).fetchall()
                found.update(rows)
            self.hits += len(found)
            self.misses += len(set(keys)) - len(found)
        return found

    def put_many(self, namespace: str, items: dict[str, str]) -> None:
        if not items:
            return
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO entries (namespace, key, value, created) VALUES (?, ?, ?, ?)",
                    [(namespace, k, v, now) for k, v in items.items()],
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    async def read_through(
        self,
        namespace: str,
        keys: Sequence[str],
        model: type[_Model],
        compute: Callable[[list[int]], Awaitable[Sequence[_Model]]],
        cacheable: Callable[[_Model], bool],
    ) -> list[_Model]:
        """Results for ``keys`` in order: cached ones from the database, the rest from ``compute`` (called once,
        with the indices of the misses), of which those ``cacheable`` accepts are stored."""
        found = self.get_many(namespace, keys)
        results: list[_Model | None] = [model.model_validate_json(found[k]) if k in found else None for k in keys]
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:
            fresh = await compute(missing)
            for i, result in zip(missing, fresh, strict=True):
                results[i] = result
            self.put_many(
                namespace,
                {keys[i]: r.model_dump_json() for i, r in zip(missing, fresh, strict=True) if cacheable(r)},
            )
        return [r for r in results if r is not None]

    def count(self, namespace: str | None = None) -> int:
        with self._lock:
            if namespace is None:
                return int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
            return int(self._db.execute("SELECT COUNT(*) FROM entries WHERE namespace = ?", [namespace]).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class CachedBackend:
    """An `LLMBackend` that answers from the cache and forwards only the misses (in one batch)."""

    def __init__(self, backend: LLMBackend, cache: Cache) -> None:
        self.backend = backend
        self.cache = cache
        self._model: str | None = None

    @property
    def model_name(self) -> str:
        if self._model is None:
            self._model = self.backend.model_name
        return self._model

    async def _model_name(self) -> str:
        # Resolving an unset model may ask the server (blocking HTTP): keep it off the event loop.
        if self._model is None:
            self._model = await asyncio.to_thread(lambda: self.backend.model_name)
        return self._model

    async def agenerate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        model = await self._model_name()
        keys = [cache_key("llm", model, r.model_dump(mode="json")) for r in requests]
        return await self.cache.read_through(
            "llm",
            keys,
            GenerationResult,
            lambda missing: self.backend.agenerate([requests[i] for i in missing]),
            # Completions cut by an error are not answers; everything else (incl. `length`) is.
            lambda result: all(c.finish_reason != "error" for c in result.completions),
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        return run_coroutine_sync(lambda: self.agenerate(requests))

    async def aclose(self) -> None:
        await self.backend.aclose()

    def close(self) -> None:
        self.backend.close()


class CachedChecker:
    """A `LeanChecker` that remembers verdicts per (Lean environment, header, statement)."""

    def __init__(self, checker: LeanChecker, cache: Cache, *, environment: str) -> None:
        """`environment` identifies what the verdict depends on besides header and statement (the Lean
        project and toolchain); results are never shared across environments."""
        self.checker = checker
        self.cache = cache
        self.environment = environment

    async def check(self, statements: Sequence[str], header: str) -> list[CheckResult]:
        keys = [cache_key("lean", self.environment, header, s) for s in statements]
        return await self.cache.read_through(
            "lean",
            keys,
            CheckResult,
            lambda missing: self.checker.check([statements[i] for i in missing], header),
            lambda result: result.status in _CACHEABLE_STATUSES,
        )

    def check_sync(self, statements: Sequence[str], header: str) -> list[CheckResult]:
        return run_coroutine_sync(lambda: self.check(statements, header))

    async def run_trusted(self, jobs: list[ProofJob], header: str) -> list[JobOutcome]:
        """Proof jobs pass through (the semantic checker caches their verdicts by canonical form)."""
        if not isinstance(self.checker, TrustedProver):
            raise UntrustedStatementError(f"{type(self.checker).__name__} cannot run proof jobs")
        return await self.checker.run_trusted(jobs, header)

    async def aclose(self) -> None:
        await self.checker.aclose()

    def close(self) -> None:
        self.checker.close()
