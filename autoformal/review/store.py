"""What the review page reads and writes: a bulk output file (read only) and its append-only labels file.

The labels file (`OUT.labels.jsonl` beside `OUT.jsonl`) gets one JSON line per reviewer decision, appended with
one `write(2)` on an `O_APPEND` descriptor and fsync'd before the page is told it was saved: a server killed at
any moment loses nothing it acknowledged, and at worst leaves a torn last line, which reading skips. Decisions are
never rewritten; on reload the last decision per candidate wins. Each line is also a labelled row in the format
`autoformal eval` reads (`informal`, `candidate`, `label`, `header`), so the reviewer's verdicts score our scorers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from autoformal.bulk.output import JsonlAppender, complete_lines
from autoformal.errors import ReviewDataError

Verdict = Literal["faithful", "unfaithful"]


class ReviewCandidate(BaseModel):
    model_config = ConfigDict(frozen=True)

    rank: int
    statement: str
    score: float | None = None
    scores: dict[str, float] = Field(default_factory=dict)
    lean_status: str | None = None
    lean_messages: list[str] = Field(default_factory=list)
    back_translation: str | None = None
    judgement: str | None = None
    provenance: str | None = None


class ReviewProblem(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    informal: str
    header: str | None = None
    gold: str | None = None
    candidates: list[ReviewCandidate] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)

    @property
    def failed(self) -> bool:
        return not self.candidates


class Decision(BaseModel):
    """One reviewer decision, as written to the labels file (a superset of a labelled row)."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(description="`<problem id>#<rank>`: what a later decision on the same candidate replaces.")
    id: str
    rank: int
    informal: str
    candidate: str = Field(description="The statement judged: the reviewer's edit when there is one.")
    label: bool = Field(description="True: faithful.")
    header: str | None = None
    edited: bool = False
    original_candidate: str | None = None
    note: str = ""
    reviewer: str
    timestamp: str


def load_problems(path: Path, gold_path: Path | None = None) -> list[ReviewProblem]:
    """The problems of a bulk output file, in file order; gold statements (`formal`/`formal_statement`) and
    headers from `gold_path` (the bulk input, or any benchmark JSONL) by id."""
    gold = _gold_by_id(gold_path) if gold_path is not None else {}
    problems = []
    for number, record in _records(path):
        problem_id = record.get("id")
        if not isinstance(problem_id, str | int):
            raise ReviewDataError(f"{path}:{number}: a bulk output line needs an `id`")
        problem_id = str(problem_id)
        reference = gold.get(problem_id, {})
        candidates = [_candidate(c) for c in record.get("candidates") or [] if isinstance(c, dict)]
        problems.append(
            ReviewProblem(
                id=problem_id,
                informal=str(record.get("input") or reference.get("informal") or ""),
                header=reference.get("header"),
                gold=reference.get("formal"),
                candidates=candidates,
                errors=[str(e) for e in record.get("errors") or []],
            )
        )
    return problems


def _candidate(raw: dict[str, Any]) -> ReviewCandidate:
    lean = raw.get("lean") or {}
    messages = [
        f"{m.get('line')}:{m.get('column')} {m.get('severity')}: {m.get('data') or m.get('text') or ''}"
        for m in lean.get("messages") or []
        if isinstance(m, dict)
    ]
    judgement = raw.get("judgement") or {}
    verdict = judgement.get("verdict") if isinstance(judgement, dict) else None
    reason = judgement.get("reason") if isinstance(judgement, dict) else None
    provenance = raw.get("provenance")
    return ReviewCandidate(
        rank=int(raw.get("rank") or 0),
        statement=str(raw.get("statement") or ""),
        score=raw.get("score"),
        scores={k: float(v) for k, v in (raw.get("scores") or {}).items() if isinstance(v, int | float)},
        lean_status=lean.get("status"),
        lean_messages=messages,
        back_translation=raw.get("back_translation"),
        judgement=f"{verdict}: {reason}" if verdict else None,
        provenance=json.dumps(provenance, ensure_ascii=False) if provenance else None,
    )


def _gold_by_id(path: Path) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for _, row in _records(path):
        if "id" not in row:
            continue
        formal = row.get("formal") or row.get("formal_statement")
        out[str(row["id"])] = {
            k: str(v)
            for k, v in (("formal", formal), ("header", row.get("header")), ("informal", row.get("informal")))
            if v
        }
    return out


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """JSON objects of a JSONL file being appended to (perhaps by a running `bulk`): an unterminated last line
    is still being written, or was torn by a kill, and is skipped; any other bad line is an error."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReviewDataError(f"{path}: cannot read ({exc.strerror})") from None
    for number, line in complete_lines(raw):
        try:
            record = json.loads(line)
        except ValueError:
            raise ReviewDataError(f"{path}:{number}: not a JSON line") from None
        if not isinstance(record, dict):
            raise ReviewDataError(f"{path}:{number}: expected a JSON object")
        yield number, record


def _decision(row: dict[str, Any]) -> Decision | None:
    try:
        return Decision.model_validate(row)
    except ValueError:
        return None  # a row from another tool (a labelled file appended to): not ours to interpret


def labels_path_for(output: Path) -> Path:
    """`OUT.jsonl` → `OUT.labels.jsonl`."""
    stem = output.stem if output.suffix == ".jsonl" else output.name
    return output.with_name(f"{stem}.labels.jsonl")


class LabelStore:
    """The labels file: append-only, fsync'd per decision, last decision per candidate wins on read. Holds the
    file's lock while open, so two review servers cannot interleave decisions on one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._latest: dict[str, Decision] = {}
        self._writer = JsonlAppender(path, fsync_interval_s=0)  # fsync every decision before acknowledging it
        try:
            self._writer.recover(self._load, unique_ids=False)
        except BaseException:
            self._writer.close()
            raise

    def _load(self, row: dict[str, Any]) -> None:
        decision = _decision(row)
        if decision is not None:
            self._latest[decision.key] = decision

    @staticmethod
    def read(path: Path) -> dict[str, Decision]:
        """The last decision per candidate in a labels file, without locking it (a server may be writing)."""
        latest: dict[str, Decision] = {}
        for _, row in _records(path):
            decision = _decision(row)
            if decision is not None:
                latest[decision.key] = decision
        return latest

    @property
    def decisions(self) -> dict[str, Decision]:
        with self._lock:
            return dict(self._latest)

    def record(
        self,
        problem: ReviewProblem,
        candidate: ReviewCandidate,
        *,
        verdict: Verdict,
        reviewer: str,
        note: str = "",
        edited_statement: str | None = None,
    ) -> Decision:
        edited = edited_statement is not None and edited_statement.strip() != candidate.statement.strip()
        decision = Decision(
            key=f"{problem.id}#{candidate.rank}",
            id=problem.id,
            rank=candidate.rank,
            informal=problem.informal,
            candidate=edited_statement if edited and edited_statement is not None else candidate.statement,
            label=verdict == "faithful",
            header=problem.header,
            edited=edited,
            original_candidate=candidate.statement if edited else None,
            note=note,
            reviewer=reviewer,
            timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        with self._lock:
            self._writer.append(decision.model_dump(mode="json"))
            self._latest[decision.key] = decision
        return decision

    def close(self) -> None:
        with self._lock:
            self._writer.close()
