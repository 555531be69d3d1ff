"""The crash-safe output: an append-only JSONL file with one complete line per problem.

Guarantees, and why they hold:

- **Whole lines.** A record is serialised to one line (JSON escapes every newline) and appended with a single
  `write(2)` on an `O_APPEND` descriptor, so the kernel places it at the end of the file in one piece. The only
  way a line can end up incomplete is the process dying inside that `write` (Linux may return a short write
  when a fatal signal arrives while copying a multi-page buffer) or the machine losing power; either way
  nothing is written after it, so the damage is confined to a *torn last line*, which `recover` truncates.
- **No duplicates.** A run writes only ids that were not in the file when it started (`recover` lists them),
  each at most once, and an exclusive `flock` on the output stops two runs from appending to the same file.
- **What a kill -9 loses.** Data is in the kernel once `write` returns, and SIGKILL cannot take it back, so a
  killed process loses only the problems it had not written yet (the in-flight ones).
- **fsync policy.** `fsync` protects against the *machine* crashing, not the process. Doing it after every
  line costs a disk flush per problem (milliseconds, more than a problem's bookkeeping), so by default the file
  is synced at most once per `fsync_interval_s` (1 s) and on close: a power loss then costs at most the last
  second of results (and possibly a torn tail, which resume repairs). `fsync_interval_s=0` syncs every line.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import BaseModel, ConfigDict

from autoformal.errors import BulkOutputError


class Recovery(BaseModel):
    """What an existing output file holds."""

    model_config = ConfigDict(frozen=True)

    done_ids: frozenset[str]
    records: int
    torn_tail_bytes: int = 0


def complete_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """`(line number, line)` of each non-blank *complete* line of append-only JSONL bytes. An unterminated last
    line is a write in progress or the tail a kill tore: it is left out (`JsonlAppender.recover` truncates it)."""
    whole = data[: data.rfind(b"\n") + 1]
    for number, line in enumerate(whole.split(b"\n")[:-1], start=1):
        if line.strip():
            yield number, line


def encode_record(record: Mapping[str, Any]) -> bytes:
    """One JSON line. `ensure_ascii=False` keeps Lean's Unicode readable; JSON escapes `\\n`, so the only newline
    byte is the terminator."""
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


class JsonlAppender:
    """Appends records to `path`, one complete line per `write(2)` (see the module docstring).

    Opening takes an exclusive lock on the file; `recover()` must be called before appending when the file may
    hold a previous run's output (it drops a torn last line), `discard()` empties it instead.
    """

    def __init__(self, path: str | Path, *, fsync_interval_s: float = 1.0) -> None:
        self.path = Path(path)
        self.fsync_interval_s = fsync_interval_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise BulkOutputError(
                f"{self.path} is locked by another running autoformal process (`bulk`, or `review` for a labels "
                "file); wait for it to finish or write to another file (two writers would interleave records)"
            ) from None
        self._last_sync = time.monotonic()
        self._dirty = False

    @property
    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def recover(
        self, on_record: Callable[[dict[str, Any]], None] | None = None, *, unique_ids: bool = True
    ) -> Recovery:
        """Read the existing lines (each passed to `on_record`), truncate a torn last line, return the ids done.
        A line in the middle that is not a JSON object with an `id` means the file was edited or damaged by
        something else: raise rather than guess. `unique_ids=False` for logs with several lines per id (review
        decisions, where the last one wins)."""
        with open(self._fd, "rb", closefd=False) as stream:
            stream.seek(0)
            data = stream.read()
        end = data.rfind(b"\n") + 1
        torn = len(data) - end
        done: set[str] = set()
        records = 0
        for number, line in complete_lines(data):
            try:
                record = json.loads(line)
                record_id = record["id"]
            except (ValueError, KeyError, TypeError):
                raise BulkOutputError(
                    f"{self.path}, line {number}: not a bulk output record (expected a JSON object with an id); "
                    "remove that line or write to a new file"
                ) from None
            key = str(record_id)
            if unique_ids and key in done:
                raise BulkOutputError(
                    f"{self.path}, line {number}: id {key!r} appears twice; this file was not written by one "
                    "bulk run per id — deduplicate it or write to a new file"
                )
            done.add(key)
            records += 1
            if on_record is not None:
                on_record(record)
        if torn:
            os.ftruncate(self._fd, end)
            os.fsync(self._fd)
        return Recovery(done_ids=frozenset(done), records=records, torn_tail_bytes=torn)

    def discard(self) -> None:
        """Empty the file (`--overwrite`)."""
        os.ftruncate(self._fd, 0)
        os.fsync(self._fd)

    def append(self, record: Mapping[str, Any]) -> None:
        data = encode_record(record)
        written = os.write(self._fd, data)
        while written < len(data):  # a short write (disk full, signal): finish the line or raise trying
            written += os.write(self._fd, data[written:])
        self._dirty = True
        if time.monotonic() - self._last_sync >= self.fsync_interval_s:
            self.sync()

    def sync(self) -> None:
        if self._dirty:
            os.fsync(self._fd)
            self._dirty = False
        self._last_sync = time.monotonic()

    def close(self) -> None:
        if self._fd < 0:
            return
        try:
            self.sync()
        finally:
            os.close(self._fd)  # also releases the lock
            self._fd = -1

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
