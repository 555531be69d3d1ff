"""`autoformal eval` (scorers vs human faithfulness labels) and `autoformal eval-benchmark` (the whole
pipeline vs a benchmark's gold statements)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from autoformal.cli.app import app
from autoformal.cli.formalize import (
    BackendOption,
    BaseUrlOption,
    JudgeModelOption,
    JudgeOption,
    ModelOption,
    NoLeanOption,
    SamplesOption,
    build_config,
    make_formalizer,
)

if TYPE_CHECKING:
    from rich.console import Console

    from autoformal.assembly import ScoringComponents
    from autoformal.evaluation import EvaluationReport


@app.command("eval")
def eval_command(
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
    the file's gold formalization and are marked as reference-based.
    """
    import asyncio

    from rich.console import Console

    from autoformal.errors import AutoformalError
    from autoformal.evaluation import load_labelled, score_pairs

    err = Console(stderr=True)
    if plot is not None:
        _require_matplotlib()
    try:
        pairs, dropped = load_labelled(file)
    except AutoformalError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    if (judge or judge_model is not None) and not llm:
        raise typer.BadParameter("the judge reads back-translations, which --no-llm switches off", param_hint="--judge")
    parts, notes = _scoring_components(
        llm=llm, lean=lean, judge=judge or judge_model is not None, judge_model=judge_model
    )
    for note in notes:
        err.print(note, highlight=False)
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
        print_report(report, Console())
    if plot is not None:
        write_reliability_plot(report, plot)
        err.print(f"reliability plot written to {plot}")
    if save_weights is not None:
        import json

        payload = {"weights": report.weights, "fitted_on": str(file), "pairs": report.rows}
        save_weights.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        err.print(f"ranker weights written to {save_weights} (use: AUTOFORMAL_RANKER__WEIGHTS_FILE={save_weights})")


def _scoring_components(
    *, llm: bool, lean: bool, judge: bool = False, judge_model: str | None = None
) -> tuple[ScoringComponents, list[str]]:
    """The back-translation scorer (with a judge when asked: the endpoint's model or `judge_model`) and the Lean
    checker as the configuration (AUTOFORMAL_* variables, TOML) describes them, assembled like every other
    command's components, each left out when switched off or not configured; notes say what was left out."""
    from autoformal.assembly import assemble_scoring
    from autoformal.errors import ConfigurationError

    config = build_config(
        samples=None, no_lean=not lean, backend=None, model=None, base_url=None, judge=judge, judge_model=judge_model
    )
    notes = []
    if llm and config.backend.kind == "openai":
        try:
            config.backend.resolved_base_url()
        except ConfigurationError:
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
    return assemble_scoring(config), notes


def print_report(report: EvaluationReport, console: Console) -> None:
    from rich.table import Table

    table = Table(
        title=f"{report.file}: {report.rows} pairs ({report.dropped_reference_rows} reference rows dropped); "
        f"held-out half: {report.held_out_rows} pairs"
    )
    table.add_column("scorer", no_wrap=True)
    for column in ("AUROC", "acc", "majority", "prec", "recall", "F1", "thr"):
        table.add_column(column, justify="right", no_wrap=True)
    for s in report.scorers:
        m = s.held_out
        name = f"{s.scorer}*" if s.uses_reference else s.scorer
        table.add_row(
            name,
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
    console.print(f"combined = weighted mean ({weights}), weights and thresholds fitted on the other half")
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
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Benchmark JSONL (informal, formal, header).")
    ],
    samples: SamplesOption = None,
    no_lean: NoLeanOption = False,
    backend: BackendOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    judge: JudgeOption = False,
    judge_model: JudgeModelOption = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N problems.")] = None,
    split: Annotated[str | None, typer.Option("--split", help="Only rows with this `split` (valid, test).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The metrics as JSON on stdout.")] = False,
    proven: Annotated[
        bool,
        typer.Option(
            "--proven/--no-proven",
            help="Also report BEq+-style agreement: candidates Lean proves equivalent to the gold (needs Lean).",
        ),
    ] = True,
) -> None:
    """Run the pipeline on a benchmark and compare with its gold statements: typecheck rate@k,
    canonical-form agreement with the gold@k, proven (BEq+-style) agreement with the gold@k when Lean is on,
    back-translation similarity distribution."""
    from rich.console import Console

    from autoformal.assembly import runs_proof_jobs
    from autoformal.checking.protocol import run_coroutine_sync
    from autoformal.checking.semantic import SemanticChecker
    from autoformal.checking.trusted import TrustedProver
    from autoformal.evaluation import benchmark_metrics, load_benchmark, proven_agreement

    err = Console(stderr=True)
    problems = load_benchmark(file, split=split, limit=limit)
    if not problems:
        raise typer.BadParameter(f"{file}: no rows (check --split)")
    config = build_config(
        samples=samples,
        no_lean=no_lean,
        backend=backend,
        model=model,
        base_url=base_url,
        judge=judge,
        judge_model=judge_model,
    )
    with make_formalizer(config, err) as formalizer:
        results = formalizer.formalize_many(
            [p.informal for p in problems], headers=[p.header for p in problems], progress=True
        )
        metrics = benchmark_metrics(problems, results, samples=config.samples)
        checker = formalizer.parts.checker
        if proven and checker is not None and runs_proof_jobs(checker):
            prover = cast(TrustedProver, checker)  # runs_proof_jobs checked it
            semantic = formalizer.parts.semantic or SemanticChecker(prover, config=config.semantic)
            metrics |= run_coroutine_sync(
                lambda: proven_agreement(semantic, problems, results, samples=config.samples)
            )
    if as_json:
        typer.echo(json.dumps(metrics))
        return
    console = Console()
    if not metrics["lean_checked"]:
        console.print("[bold yellow]NOT CHECKED BY LEAN (--no-lean): typecheck rates are not measured.[/]")
    for key, value in metrics.items():
        console.print(f"{key}: {value}")
