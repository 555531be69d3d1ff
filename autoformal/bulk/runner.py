"""Bulk formalization: plan (read, validate, shard, limit, resume) then run problems concurrently through a
`Formalizer`, appending one line per finished problem (see `autoformal.bulk.output` for the guarantees).

Failures are sorted by what resuming can do about them, as each error class says (`autoformal.errors`):

- *fatal* (no endpoint, unknown model, no Lean, a missing optional backend): every other problem would fail
  the same way, so the run stops; fix the setting and rerun with `--resume`.
- *final* (an unsafe or non-elaborating header, a prompt too long for the model): retrying cannot help,
  so the problem's line is written with the error and resume skips it.
- anything else (timeouts, server errors after the backend's retries, a crashed Lean worker): nothing is
  written, so `--resume` retries exactly those problems. Too many in a row stop the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from autoformal.batch import BatchInput, RunsBatches
from autoformal.bulk.inputs import InputFields, InvalidLine, Problem, Shard, read_problems
from autoformal.bulk.output import JsonlAppender, Recovery
from autoformal.errors import AutoformalError, BulkAborted, is_fatal, is_transient
from autoformal.pipeline import STAGE_NAMES
from autoformal.results import FormalizationResult


class Formalizes(Protocol):
    """What a Ray actor needs from a `Formalizer`: one input at a time."""

    async def aformalize(
        self, text: str, *, header: str | None = None, context: str | None = None
    ) -> FormalizationResult: ...


class BulkOptions(BaseModel):
    """Everything about a bulk run except the Formalizer's own configuration."""

    model_config = ConfigDict(frozen=True)

    fields: InputFields = Field(default_factory=InputFields)
    shard: Shard | None = None
    limit: int | None = Field(default=None, ge=1, description="Only the first N problems (of this shard).")
    resume: bool = False
    overwrite: bool = False
    concurrency: int | None = Field(
        default=None, ge=1, description="Problems in flight at once; None: the Formalizer's inputs limit."
    )
    fsync_interval_s: float = Field(default=1.0, ge=0.0)
    max_consecutive_failures: int = Field(default=25, ge=1)


class BulkPlan(BaseModel):
    """What a run will do: the problems left, and why the others are not in that list."""

    model_config = ConfigDict(frozen=True)

    valid: int
    invalid: list[InvalidLine]
    outside_shard: int
    beyond_limit: int
    already_done: int
    todo: list[Problem]


def plan_bulk(input_path: str | Path, options: BulkOptions, done_ids: frozenset[str] = frozenset()) -> BulkPlan:
    """Select the problems to run: valid lines, in the shard, within the limit (counted in input order before
    resume, so `--limit 100 --resume` finishes the same 100 problems), not already in the output."""
    invalid: list[InvalidLine] = []
    selected: list[Problem] = []
    valid = outside = beyond = 0
    for item in read_problems(input_path, options.fields):
        if isinstance(item, InvalidLine):
            invalid.append(item)
            continue
        valid += 1
        if options.shard is not None and not options.shard.contains(item.id):
            outside += 1
        elif options.limit is not None and len(selected) >= options.limit:
            beyond += 1
        else:
            selected.append(item)
    todo = [p for p in selected if p.id not in done_ids]
    return BulkPlan(
        valid=valid,
        invalid=invalid,
        outside_shard=outside,
        beyond_limit=beyond,
        already_done=len(selected) - len(todo),
        todo=todo,
    )


class BulkSummary(BaseModel):
    """Totals over every record in the output file (earlier runs included) plus this run's own counts."""

    records: int = 0
    with_candidate: int = 0
    lean_checked: int = 0
    with_elaborating_candidate: int = 0
    with_errors: int = 0
    stage_totals: dict[str, int] = Field(default_factory=dict, description="Per stage, in pipeline order.")
    stage_seconds: dict[str, float] = Field(default_factory=dict)
    problem_seconds: float = Field(default=0.0, description="Sum of per-problem wall times.")
    # this run
    written: int = 0
    failed: int = 0
    failures: list[str] = Field(default_factory=list, description="First few failures of this run (not written).")
    wall_s: float = 0.0
    cluster: dict[str, Any] | None = Field(
        default=None, description="With --ray: the cluster that ran this run (nodes, CPUs, actors, endpoints)."
    )

    def add_record(self, record: dict[str, Any]) -> None:
        self.records += 1
        candidates = record.get("candidates") or []
        self.with_candidate += bool(candidates)
        if record.get("lean_checked"):
            self.lean_checked += 1
            self.with_elaborating_candidate += any((c.get("lean") or {}).get("ok") for c in candidates)
        self.with_errors += bool(record.get("errors"))
        for stage, count in (record.get("stage_counts") or {}).items():
            self.stage_totals[stage] = self.stage_totals.get(stage, 0) + int(count)
        # Stages in pipeline order however records list them (optional stages such as `names` come and go).
        order = {stage: n for n, stage in enumerate(STAGE_NAMES)}
        self.stage_totals = dict(sorted(self.stage_totals.items(), key=lambda item: order.get(item[0], len(order))))
        for stage, seconds in (record.get("timings") or {}).items():
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + float(seconds)
        self.problem_seconds += float(record.get("elapsed_s") or 0.0)

    @property
    def survival(self) -> dict[str, float]:
        """Fraction of generated candidates that survived each stage."""
        generated = self.stage_totals.get("generated", 0)
        return {stage: (count / generated if generated else 0.0) for stage, count in self.stage_totals.items()}

    @property
    def problems_per_s(self) -> float:
        return self.written / self.wall_s if self.wall_s > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {**self.model_dump(), "survival": self.survival, "problems_per_s": self.problems_per_s}


@dataclass(frozen=True)
class ProblemDone:
    """A progress event: `record` was written, or `error` says why nothing was."""

    problem: Problem
    record: dict[str, Any] | None
    error: str | None


def open_output(output_path: str | Path, options: BulkOptions, summary: BulkSummary) -> tuple[JsonlAppender, Recovery]:
    """Lock the output and make it consistent: resume (drop a torn tail, collect done ids into `summary`),
    start over (`overwrite`), or refuse to touch a non-empty file without being told which."""
    writer = JsonlAppender(output_path, fsync_interval_s=options.fsync_interval_s)
    try:
        if options.overwrite:
            writer.discard()
        elif writer.size and not options.resume:
            raise BulkAborted(
                f"{output_path} already has results; pass --resume to continue it (finished ids are skipped) "
                "or --overwrite to start over"
            )
        recovery = writer.recover(summary.add_record)
    except BaseException:
        writer.close()
        raise
    return writer, recovery


async def run_bulk(
    problems: Sequence[Problem],
    formalizer: RunsBatches,
    writer: JsonlAppender,
    summary: BulkSummary,
    *,
    concurrency: int | None = None,
    default_header: str | None = None,
    max_consecutive_failures: int = 25,
    on_done: Callable[[ProblemDone], None] | None = None,
) -> BulkSummary:
    """Formalize `problems` with at most `concurrency` (None: the Formalizer's inputs limit) in flight
    (`Formalizer.run_batch`), appending each result
    as it completes. Stops early (raising) on a fatal error or too many consecutive failures; in-flight
    problems are then cancelled and never written."""
    consecutive = 0
    started = time.perf_counter()
    inputs = [BatchInput(text=p.text, header=p.header or default_header) for p in problems]
    try:
        async for outcome in formalizer.run_batch(inputs, limit=concurrency):
            problem = problems[outcome.index]
            if outcome.result is not None:
                record = {"id": problem.id, "elapsed_s": round(outcome.elapsed_s, 4)}
                record.update(outcome.result.model_dump(mode="json"))
            elif outcome.error is not None and not is_transient(outcome.error):
                record = failure_record(problem, _describe(outcome.error), outcome.elapsed_s)
            else:
                consecutive += 1
                summary.failed += 1
                message = f"{problem.id}: {type(outcome.error).__name__}: {outcome.error}"
                if len(summary.failures) < 20:
                    summary.failures.append(message)
                if on_done is not None:
                    on_done(ProblemDone(problem, None, message))
                if consecutive >= max_consecutive_failures:
                    raise BulkAborted(
                        f"{consecutive} problems failed in a row (last: {message}); fix the cause and rerun "
                        "with --resume (finished problems are kept)"
                    ) from outcome.error
                continue
            consecutive = 0
            writer.append(record)
            summary.written += 1
            summary.add_record(record)
            if on_done is not None:
                on_done(ProblemDone(problem, record, None))
    finally:
        summary.wall_s = time.perf_counter() - started
        writer.sync()
    return summary


async def problem_record(formalizer: Formalizes, problem: Problem, default_header: str | None) -> dict[str, Any]:
    """One problem's output line outside a batch (a Ray actor runs problems one call at a time): its result, or
    its error when retrying cannot help. Fatal and transient errors are raised, as `run_batch` reports them."""
    started = time.perf_counter()
    try:
        result = await formalizer.aformalize(problem.text, header=problem.header or default_header)
    except AutoformalError as exc:
        if is_fatal(exc) or is_transient(exc):
            raise
        return failure_record(problem, _describe(exc), time.perf_counter() - started)
    return {"id": problem.id, "elapsed_s": round(time.perf_counter() - started, 4), **result.model_dump(mode="json")}


def failure_record(problem: Problem, reason: str, elapsed: float) -> dict[str, Any]:
    """The output line of a problem that ends without candidates, with the reason (resume skips it)."""
    result = FormalizationResult(input=problem.text, lean_checked=False, errors=[reason], stage_counts={})
    return {"id": problem.id, "elapsed_s": round(elapsed, 4), **result.model_dump(mode="json")}


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
