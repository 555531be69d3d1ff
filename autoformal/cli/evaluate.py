"""`autoformal eval` (scorers vs human faithfulness labels) and `autoformal eval-benchmark` (the whole
pipeline vs a benchmark's gold statements)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from autoformal.cli.app import app, read_text_file
from autoformal.cli.boundary import ExitCode
from autoformal.cli.formalize import make_formalizer
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
)
from autoformal.cli.output import shown, stdout_console, warn

if TYPE_CHECKING:
    from rich.console import Console

    from autoformal.assembly import ScoringComponents
    from autoformal.config import FormalizerConfig
    from autoformal.evaluation import BenchmarkProblem, EvaluationReport
    from autoformal.pipeline import Formalizer
    from autoformal.results import FormalizationResult


@app.command("eval")
def eval_command(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Labelled JSONL (informal, candidate, label).")
    ],
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write a reliability plot (PNG) of the held-out scores; needs matplotlib."),
    ] = None,
    llm: Annotated[
        bool, typer.Option("--llm/--no-llm", help="Back-translation scoring when an LLM endpoint is configured.")
    ] = True,
    lean: Annotated[bool, typer.Option("--lean/--no-lean", help="Elaboration scoring when Lean is configured.")] = True,
    judge: JudgeOption = False,
    judge_model: JudgeModelOption = None,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    deadline: DeadlineOption = None,
    lean_project: LeanProjectOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON on stdout.")] = False,
    save_weights: Annotated[
        Path | None,
        typer.Option(
            "--save-weights",
            dir_okay=False,
            help="Write the fitted ranker weights here; load them with AUTOFORMAL_RANKER__WEIGHTS_FILE.",
        ),
    ] = None,
) -> None:
    """Measure every available scorer against the labels: accuracy, precision, recall, F1, AUROC.

    Label-leaking fields are ignored; thresholds and combined weights are fitted on one half of the
    problems and every number is reported on the other (held-out) half. The `reference` rows compare with
    the file's gold formalization and are marked as reference-based. The LLM endpoint, judge and Lean
    project come from the same settings as `formalize` (variables, TOML file, options).
    """
    import asyncio

    from autoformal.cli.output import stderr_console
    from autoformal.errors import InvalidInputError
    from autoformal.evaluation import load_labelled, score_pairs, split_of

    err = stderr_console()
    if plot is not None:
        _require_matplotlib()
    read_text_file(file, "labelled JSONL file")  # a directory, non-UTF-8 bytes: one-line errors first
    pairs, dropped = load_labelled(file)
    halves = {split_of(p.problem) for p in pairs}
    if len(halves) < 2:
        raise InvalidInputError(
            f"{file}: {len(pairs)} labelled pair(s) from {len({p.problem for p in pairs})} problem(s); the "
            "evaluation fits on one half of the problems and measures on the other, so it needs rows from "
            "more problems (a few dozen for meaningful figures)"
        )
    held_out = sum(p.split == "held-out" for p in pairs)
    if held_out < _FEW_PAIRS:
        warn(f"only {held_out} held-out pairs: every figure below is dominated by chance (want {_FEW_PAIRS}+)")
    if (judge or judge_model is not None) and not llm:
        raise typer.BadParameter("the judge reads back-translations, which --no-llm switches off", param_hint="--judge")
    config = config_from_options(ctx, no_lean=not lean)
    parts, notes = _scoring_components(config, llm=llm)
    for note in notes:
        err.print(shown(note))
    try:
        with err.status(f"scoring {len(pairs)} pairs"):
            scores = asyncio.run(score_pairs(pairs, backtranslation=parts.backtranslator, checker=parts.checker))
    finally:
        parts.close()
    from autoformal.evaluation import evaluate

    report = evaluate(str(file), pairs, scores, dropped)
    if as_json:
        typer.echo(report.model_dump_json())
    else:
        print_report(report, stdout_console())
    if plot is not None:
        write_reliability_plot(report, plot)
        err.print(shown(f"reliability plot written to {plot}"))
    if save_weights is not None:
        payload = {"weights": report.weights, "fitted_on": str(file), "pairs": report.rows}
        save_weights.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        note = f"ranker weights written to {save_weights} (use AUTOFORMAL_RANKER__WEIGHTS_FILE={save_weights})"
        err.print(shown(note))


#: Below this many held-out pairs `eval` warns that its figures are mostly chance.
_FEW_PAIRS = 20


def _scoring_components(config: FormalizerConfig, *, llm: bool) -> tuple[ScoringComponents, list[str]]:
    """The back-translation scorer (with the judge when the configuration asks for one) and the Lean checker,
    from the same configuration `formalize` uses and assembled like every other command's components, each
    left out when switched off or not configured; notes say what was left out."""
    from autoformal.assembly import assemble_scoring
    from autoformal.errors import ConfigurationError
    from autoformal.llm.config import OpenAIBackendConfig

    notes = []
    if llm and isinstance(config.backend, OpenAIBackendConfig) and not config.backend.base_url:
        notes.append("back_translation: skipped (no LLM endpoint; set AUTOFORMAL_BASE_URL to include it)")
        llm = False
    if config.lean and config.checker.kind == "repl":
        try:
            config.checker.require_lean()
        except ConfigurationError as exc:
            notes.append(f"elaboration: skipped (no Lean: {str(exc).splitlines()[0]})")
            config = config.model_copy(update={"lean": False})
    if not llm:
        config = config.model_copy(update={"backtranslation": False, "judge": False, "judge_model": None})
    # Uncached, as eval always scored: a measurement must ask the model and Lean, not replay an old answer.
    return assemble_scoring(config.model_copy(update={"cache": False})), notes


def print_report(report: EvaluationReport, console: Console) -> None:
    from rich.table import Table

    table = Table(
        title=shown(
            f"{report.file}: {report.rows} pairs ({report.dropped_reference_rows} reference rows dropped); "
            f"held-out half: {report.held_out_rows} pairs"
        )
    )
    table.add_column("scorer", no_wrap=True)
    for column in ("AUROC", "acc", "majority", "prec", "recall", "F1", "thr"):
        table.add_column(column, justify="right", no_wrap=True)
    for s in report.scorers:
        m = s.held_out
        name = f"{s.scorer}*" if s.uses_reference else s.scorer
        table.add_row(
            shown(name),
            f"{m.auroc:.3f}",
            f"{m.accuracy:.3f}",
            f"{m.majority_accuracy:.3f}",
            f"{m.precision:.3f}",
            f"{m.recall:.3f}",
            f"{m.f1:.3f}",
            f"{m.threshold:.2f}",
        )
    console.print(table)
    weights = ", ".join(f"{k}={v:g}" for k, v in report.weights.items())
    console.print(shown(f"combined = weighted mean ({weights}), weights and thresholds fitted on the other half"))
    console.print("* reference-based: compares with the file's gold formalization (not available in production)")


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise typer.BadParameter(
            "--plot needs matplotlib, which is not installed: pip install 'autoformal[plot]'", param_hint="--plot"
        ) from None


def write_reliability_plot(report: EvaluationReport, path: Path) -> None:
    """Fraction faithful per score bin (held-out), for the combined score and the best single scorers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from autoformal.scoring.metrics import reliability

    figure, axis = plt.subplots(figsize=(6, 5))
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    wanted = ("combined", "consistency", "self_consistency", "reference")
    shown = [s.scorer for s in report.scorers if s.scorer in wanted]
    for name in shown:
        points = reliability(report.held_out_scores[name], report.held_out_labels)
        axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
    axis.set_xlabel("score (bin mean)")
    axis.set_ylabel("fraction labelled faithful")
    axis.set_title(f"Reliability, held-out half of {Path(report.file).name}", fontsize=9)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


@app.command("eval-benchmark")
def eval_benchmark(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Benchmark JSONL (informal, formal, header).")
    ],
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
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N problems.")] = None,
    proven: Annotated[
        bool,
        typer.Option(
            "--proven/--no-proven",
            help="Also report BEq+-style agreement: candidates Lean proves equivalent to the gold (needs Lean).",
        ),
    ] = True,
    split: Annotated[str | None, typer.Option("--split", help="Only rows with this `split` (valid, test).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The metrics as JSON on stdout.")] = False,
) -> None:
    """Run the pipeline on a benchmark and compare with its gold statements: typecheck rate@k,
    canonical-form agreement with the gold@k, proven (BEq+-style) agreement with the gold@k when Lean is on,
    back-translation similarity distribution. Exit code 1 when
    some problem got no candidate because of an error (the first errors are listed on stderr)."""
    from autoformal.assembly import runs_proof_jobs
    from autoformal.checking.protocol import run_coroutine_sync
    from autoformal.checking.semantic import SemanticChecker
    from autoformal.checking.trusted import TrustedProver
    from autoformal.cli.output import stderr_console
    from autoformal.evaluation import benchmark_metrics, load_benchmark, proven_agreement

    err = stderr_console()
    read_text_file(file, "benchmark JSONL file")
    problems = load_benchmark(file, split=split, limit=limit)
    if not problems:
        raise typer.BadParameter(f"{file}: no rows (check --split)")
    config = config_from_options(ctx)
    with make_formalizer(config, save_config_to) as formalizer:
        results = _formalize_with_progress(err, formalizer, problems)
        metrics = benchmark_metrics(problems, results, samples=config.samples)
        checker = formalizer.parts.checker
        if proven and checker is not None and runs_proof_jobs(checker):
            prover = cast(TrustedProver, checker)  # runs_proof_jobs checked it
            semantic = formalizer.parts.semantic or SemanticChecker(prover, config=config.semantic)
            metrics |= run_coroutine_sync(
                lambda: proven_agreement(semantic, problems, results, samples=config.samples)
            )
    failed = [(i, r.errors[0]) for i, r in enumerate(results, start=1) if r.errors and not r.candidates]
    for number, error in failed[:5]:
        err.print(shown(f"problem {number}: {error}", "yellow"))
    if as_json:
        typer.echo(json.dumps(metrics))
    else:
        console = stdout_console()
        if not metrics["lean_checked"]:
            console.print("[bold yellow]NOT CHECKED BY LEAN (--no-lean): typecheck rates are not measured.[/]")
        for key, value in metrics.items():
            console.print(shown(f"{key}: {value}"))
    if failed:
        raise typer.Exit(ExitCode.FAILED)


def _formalize_with_progress(
    err: Console, formalizer: Formalizer, problems: list[BenchmarkProblem]
) -> list[FormalizationResult]:
    """Every problem's result, in order, with a progress bar on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from autoformal.checking.protocol import run_coroutine_sync

    async def collect() -> list[FormalizationResult]:
        out: list[FormalizationResult | None] = [None] * len(problems)
        columns = (TextColumn("formalizing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err) as bar:
            task = bar.add_task("formalizing", total=len(problems))
            texts = [p.informal for p in problems]
            async for i, result in formalizer.aformalize_many(texts, headers=[p.header for p in problems]):
                out[i] = result
                bar.advance(task)
        return [r for r in out if r is not None]

    return run_coroutine_sync(collect)
