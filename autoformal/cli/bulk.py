"""`autoformal bulk IN.jsonl -o OUT.jsonl`: formalize a problem set, resumably, one output line per problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from autoformal.cli.app import app, ensure_writable, read_text_file, resume_command
from autoformal.cli.boundary import ExitCode
from autoformal.cli.formalize import NOT_CHECKED_WARNING, make_formalizer
from autoformal.cli.options import (
    BackendOption,
    BaseUrlOption,
    DeadlineOption,
    JudgeModelOption,
    JudgeOption,
    LeanProjectOption,
    ModelOption,
    NoLeanOption,
    RepairRoundsOption,
    RetriesOption,
    SamplesOption,
    SaveConfigOption,
    TimeoutOption,
    config_from_options,
    reproducible_config,
)
from autoformal.cli.output import shown

if TYPE_CHECKING:
    from rich.console import Console

    from autoformal.bulk import BulkOptions, BulkPlan, BulkSummary, JsonlAppender
    from autoformal.bulk.ray_runner import RayOptions
    from autoformal.config import FormalizerConfig
    from autoformal.pipeline import Formalizer

_SHOWN_INVALID = 20


@app.command()
def bulk(
    ctx: typer.Context,
    input_path: Annotated[Path, typer.Argument(metavar="IN.jsonl", exists=True, dir_okay=False, help="Problems.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="Output JSONL (one line per problem).")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue OUT: skip ids already in it.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Empty OUT first.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N problems.")] = None,
    shard: Annotated[
        str | None, typer.Option("--shard", metavar="I/N", help="Only shard I of N (0-based, stable by id).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count and estimate; call nothing.")] = False,
    id_field: Annotated[str, typer.Option("--id-field", help="JSON field holding the id.")] = "id",
    text_field: Annotated[
        str | None,
        typer.Option("--text-field", help="JSON field holding the statement [default: informal or a known name]."),
    ] = None,
    header_field: Annotated[
        str, typer.Option("--header-field", help="Per-problem Lean header field, used when present.")
    ] = "header",
    header: Annotated[
        Path | None, typer.Option("--header", exists=True, dir_okay=False, help="Default Lean header file.")
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", "-c", min=1, help="Problems in flight [default: the config's limits.inputs]."),
    ] = None,
    fsync_interval: Annotated[
        float, typer.Option("--fsync-interval", min=0.0, help="Seconds between fsyncs (0: every line).")
    ] = 1.0,
    samples: SamplesOption = None,
    repair_rounds: RepairRoundsOption = None,
    no_lean: NoLeanOption = False,
    backend: BackendOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    judge: JudgeOption = False,
    judge_model: JudgeModelOption = None,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    deadline: DeadlineOption = None,
    lean_project: LeanProjectOption = None,
    save_config_to: SaveConfigOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary (with the resolved configuration) as JSON on stdout.")
    ] = False,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Run on a Ray cluster: `auto` (a running one), an address, or `local` (start one for the run).",
        ),
    ] = None,
    actors: Annotated[int, typer.Option("--actors", min=1, help="With --ray: formalizer actors.")] = 2,
    cpus_per_actor: Annotated[
        float, typer.Option("--cpus-per-actor", min=0.1, help="With --ray: CPUs (Lean workers) per actor.")
    ] = 1.0,
) -> None:
    """Formalize every problem of a JSONL file. Crash-safe: kill it any time and rerun with --resume.

    Exit code 1 when some problems failed (not written; --resume retries them), 130 when interrupted.
    """
    from autoformal.bulk import BulkOptions, BulkSummary, InputFields, Shard, open_output, plan_bulk
    from autoformal.cli.output import stderr_console

    err = stderr_console()

    resolved = None
    summary = BulkSummary()
    options = BulkOptions(
        fields=InputFields(id=id_field, text=text_field, header=header_field or None),
        shard=Shard.parse(shard) if shard else None,
        limit=limit,
        resume=resume,
        overwrite=overwrite,
        concurrency=concurrency,
        fsync_interval_s=fsync_interval,
    )
    if output is None and not dry_run:
        raise typer.BadParameter("pass -o OUT.jsonl (or --dry-run to only count)")
    if resume and overwrite:
        raise typer.BadParameter("--resume and --overwrite contradict each other; pass one")
    default_header = read_text_file(header, "Lean header file") if header is not None else None
    if dry_run:
        done = _done_ids_readonly(output, summary) if output is not None and resume else frozenset()
        plan = plan_bulk(input_path, options, done)
        _report_plan(err, plan, input_path)
        resolved = config_from_options(ctx)
        in_flight = concurrency or resolved.limits.batch(resolved.concurrency)
        estimate = _estimate(plan, summary, in_flight, resolved.samples, resolved.lean)
        if as_json:
            typer.echo(json.dumps({**estimate, "config": reproducible_config(resolved)}))
        return
    assert output is not None
    ensure_writable(output, "-o")
    writer, recovery = open_output(output, options, summary)
    with writer:
        if recovery.torn_tail_bytes:
            err.print(shown(f"dropped a torn last line ({recovery.torn_tail_bytes} bytes) from {output}", "yellow"))
        plan = plan_bulk(input_path, options, recovery.done_ids)
        _report_plan(err, plan, input_path)
        resolved = config_from_options(ctx)
        try:
            if plan.todo and ray_address is not None:
                from autoformal.bulk.ray_runner import RayOptions

                in_flight = concurrency or resolved.limits.batch(resolved.concurrency)
                ray_options = RayOptions(
                    address=None if ray_address == "local" else ray_address,
                    actors=actors,
                    cpus_per_actor=cpus_per_actor,
                    per_actor_concurrency=max(1, in_flight // actors),
                )
                _run_on_ray(err, plan, resolved, writer, summary, ray_options, default_header)
            elif plan.todo:
                with make_formalizer(resolved, save_config_to) as formalizer:
                    if not formalizer.lean_checked:
                        err.print(f"[bold yellow]WARNING: {NOT_CHECKED_WARNING}[/]")
                    _run_with_progress(err, plan, formalizer, writer, summary, options, default_header)
        except KeyboardInterrupt:
            _report_interrupted(err, summary, output, resume_command(ctx))
            raise typer.Exit(ExitCode.INTERRUPTED) from None
    _report_summary(err, summary)
    if as_json:
        payload = summary.as_json()
        if resolved is not None:
            payload["config"] = reproducible_config(resolved)
        typer.echo(json.dumps(payload))
    if summary.failed:
        raise typer.Exit(ExitCode.FAILED)


def _report_interrupted(err: Console, summary: BulkSummary, output: Path, resume: str) -> None:
    err.print(
        shown(
            f"interrupted: this run wrote {summary.written} problems to {output} ({summary.records} in the file); "
            "in-flight problems were not written. Continue with:",
            "bold yellow",
        )
    )
    err.print(shown(f"  {resume}"))


def _done_ids_readonly(output: Path, summary: BulkSummary) -> frozenset[str]:
    """Ids in an existing output, read without locking or repairing it (dry run)."""
    done = set()
    if output.is_file():
        for line in output.read_bytes().split(b"\n"):
            try:
                record = json.loads(line)
                done.add(str(record["id"]))
            except (ValueError, KeyError, TypeError):
                continue  # blank or torn line: a real run repairs it
            summary.add_record(record)
    return frozenset(done)


def _run_with_progress(
    err: Console,
    plan: BulkPlan,
    formalizer: Formalizer,
    writer: JsonlAppender,
    summary: BulkSummary,
    options: BulkOptions,
    default_header: str | None,
) -> None:
    import asyncio

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from autoformal.bulk import ProblemDone, run_bulk

    progress = Progress(
        TextColumn("[bold]bulk"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]:.2f} problems/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=err,
    )
    task = progress.add_task("bulk", total=len(plan.todo), rate=0.0, status="")
    counts = {"written": 0, "failed": 0, "elaborated": 0}

    def on_done(event: ProblemDone) -> None:
        if event.record is None:
            counts["failed"] += 1
        else:
            counts["written"] += 1
            counts["elaborated"] += any((c.get("lean") or {}).get("ok") for c in event.record.get("candidates", []))
        elapsed = progress.tasks[0].elapsed or 0.0
        done = counts["written"] + counts["failed"]
        progress.update(
            task,
            advance=1,
            rate=done / elapsed if elapsed else 0.0,
            status=f"written {counts['written']} · elaborating {counts['elaborated']} · failed {counts['failed']}",
        )

    with progress:
        asyncio.run(
            run_bulk(
                plan.todo,
                formalizer,
                writer,
                summary,
                concurrency=options.concurrency,
                default_header=default_header,
                max_consecutive_failures=options.max_consecutive_failures,
                on_done=on_done,
            )
        )


def _run_on_ray(
    err: Console,
    plan: BulkPlan,
    config: FormalizerConfig,
    writer: JsonlAppender,
    summary: BulkSummary,
    options: RayOptions,
    default_header: str | None,
) -> None:
    """`run_bulk_on_ray` under a progress bar: done, failed, in flight, actors, throughput."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from autoformal.bulk.ray_runner import ClusterInfo, run_bulk_on_ray

    progress = Progress(
        TextColumn("[bold]bulk on Ray"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=err,
    )
    task = progress.add_task("ray", total=len(plan.todo), status="starting the cluster and actors")

    def on_start(info: ClusterInfo) -> None:
        summary.cluster = info.model_dump()
        err.print(
            shown(
                f"Ray: {info.nodes} node(s), {info.cpus:g} CPUs, {info.actors} actors, "
                f"{len(info.endpoints)} LLM endpoint(s) ({', '.join(info.endpoints)})"
            )
        )

    def on_tick(counts: dict[str, int]) -> None:
        elapsed = progress.tasks[0].elapsed or 0.0
        done = counts["done"] + counts["failed"]
        rate = done / elapsed if elapsed else 0.0
        progress.update(
            task,
            completed=done,
            status=f"done {counts['done']} · failed {counts['failed']} · in flight {counts['in_flight']} · "
            f"actors {counts['actors']} · {rate:.2f} problems/s",
        )

    with progress:
        run_bulk_on_ray(
            plan.todo, config, writer, summary, options, default_header=default_header, on_tick=on_tick,
            on_start=on_start,
        )  # fmt: skip


def _report_plan(err: Console, plan: BulkPlan, input_path: Path) -> None:
    for invalid in plan.invalid[:_SHOWN_INVALID]:
        err.print(shown(f"{input_path}:{invalid.line}: skipped: {invalid.reason}", "yellow"))
    if len(plan.invalid) > _SHOWN_INVALID:
        err.print(shown(f"… and {len(plan.invalid) - _SHOWN_INVALID} more invalid lines", "yellow"))
    err.print(
        shown(
            f"{plan.valid} valid problems ({len(plan.invalid)} invalid lines skipped); "
            f"{plan.outside_shard} outside the shard, {plan.beyond_limit} beyond the limit, "
            f"{plan.already_done} already done, "
        )
        + shown(f"{len(plan.todo)} to do", "bold")
    )


def _estimate(plan: BulkPlan, summary: BulkSummary, concurrency: int, samples: int, lean: bool) -> dict[str, object]:
    """Counts, the work they mean (one generation request of `samples` completions per problem, up to
    `samples` Lean checks), and a time estimate when earlier records of this output give a per-problem time."""
    per_problem = summary.problem_seconds / summary.records if summary.records else None
    return {
        "valid": plan.valid,
        "invalid_lines": len(plan.invalid),
        "outside_shard": plan.outside_shard,
        "beyond_limit": plan.beyond_limit,
        "already_done": plan.already_done,
        "todo": len(plan.todo),
        "samples_per_problem": samples,
        "generation_requests": len(plan.todo),
        "max_lean_checks": len(plan.todo) * samples if lean else 0,
        "mean_problem_seconds": per_problem,
        "estimated_seconds": len(plan.todo) * per_problem / concurrency if per_problem is not None else None,
    }


def _report_summary(err: Console, summary: BulkSummary) -> None:
    from rich.table import Table

    if summary.written or summary.failed:
        err.print(
            shown(
                f"this run: {summary.written} written, {summary.failed} failed (not written; rerun with --resume) "
                f"in {summary.wall_s:.1f} s ({summary.problems_per_s:.2f} problems/s)"
            )
        )
    for failure in summary.failures[:5]:
        err.print(shown(f"  failed {failure}", "red"))
    checked = f"{summary.with_elaborating_candidate}/{summary.lean_checked}" if summary.lean_checked else "not checked"
    err.print(
        shown(
            f"output: {summary.records} problems, {summary.with_candidate} with a candidate, "
            f"elaborating candidate: {checked}"
        )
    )
    survival = Table("stage", "candidates", "survival", title="candidates per stage")
    for stage, count in summary.stage_totals.items():
        survival.add_row(shown(stage), str(count), f"{summary.survival[stage]:.1%}")
    timing = Table("stage", "seconds (total)", "seconds / problem", title="time per stage (summed over problems)")
    for stage, seconds in summary.stage_seconds.items():
        timing.add_row(shown(stage), f"{seconds:.1f}", f"{seconds / summary.records:.3f}" if summary.records else "-")
    err.print(survival, timing)
    if summary.records > summary.lean_checked:
        unchecked = summary.records - summary.lean_checked
        err.print(f"[bold yellow]WARNING: {unchecked} of {summary.records} problems were NOT CHECKED BY LEAN[/]")
