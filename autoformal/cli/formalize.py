"""`autoformal formalize`: informal text → ranked Lean 4 statements (rich table or JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from autoformal.cli.app import app, ensure_writable, read_text_argument, read_text_file
from autoformal.cli.options import (
    BackendOption,
    BaseUrlOption,
    DeadlineOption,
    HeaderOption,
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
    save_config,
)

if TYPE_CHECKING:
    from rich.console import Console

    from autoformal.config import FormalizerConfig
    from autoformal.pipeline import Formalizer
    from autoformal.results import FormalizationResult


def make_formalizer(config: FormalizerConfig, save_to: Path | None = None) -> Formalizer:
    """A `Formalizer` (errors go to the CLI's error boundary), after writing the configuration when asked."""
    from autoformal.pipeline import Formalizer

    if save_to is not None:
        save_config(config, save_to)
    return Formalizer(config)


NOT_CHECKED_WARNING = (
    "NOT CHECKED BY LEAN (--no-lean): these statements were never elaborated and may not even type-check."
)


@app.command()
def formalize(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(metavar="TEXT|-", help="The informal statement, or - to read stdin.")],
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
    header: HeaderOption = None,
    save_config_to: SaveConfigOption = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Candidates shown in the table.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="The full FormalizationResult as JSON on stdout.")] = False,
) -> None:
    """Formalize informal mathematics into ranked Lean 4 theorem statements.

    Needs an LLM endpoint (AUTOFORMAL_BASE_URL or --base-url) and, unless --no-lean, a Lean project
    (AUTOFORMAL_LEAN_PROJECT). Exit code 1 when no candidate survives.
    """
    from autoformal.cli.output import stderr_console, stdout_console

    err = stderr_console()
    informal = read_text_argument(text)
    if save_config_to is not None:
        ensure_writable(save_config_to, "--save-config")
    config = config_from_options(ctx)
    header_text = read_text_file(header, "Lean header file") if header is not None else None
    with make_formalizer(config, save_config_to) as formalizer:
        result = formalizer.formalize(informal.strip(), header=header_text)
    if not result.lean_checked:
        err.print(f"[bold yellow]WARNING: {NOT_CHECKED_WARNING}[/]")
    if as_json:
        typer.echo(result.model_dump_json())
    else:
        print_result(result, stdout_console(), top=top)
    raise typer.Exit(0 if result.candidates else 1)


def print_result(result: FormalizationResult, console: Console, *, top: int = 5) -> None:
    from rich.panel import Panel
    from rich.syntax import Syntax
    from rich.table import Table

    from autoformal.cli.output import shown

    if not result.lean_checked:
        console.print(Panel(NOT_CHECKED_WARNING, style="bold yellow", title="--no-lean"))
    table = Table(show_lines=True, title=shown(f"{len(result.candidates)} ranked candidate(s) from {result.model}"))
    for column in ("#", "score", "statement", "Lean", "scores", "back-translation"):
        table.add_column(column, overflow="fold")
    for candidate in result.candidates[:top]:
        if candidate.lean is None:
            lean = shown("not checked")
        else:
            lean = shown("ok", "green") if candidate.lean.ok else shown("error", "red")
        scores = "\n".join(f"{name} {value:.2f}" for name, value in candidate.scores.items())
        back_translation = shown(candidate.back_translation or "")
        if candidate.judgement:
            back_translation += shown("\njudge: ", "bold") + shown(candidate.judgement.summary)
        origin = candidate.provenance
        rank = shown(str(candidate.rank))
        if origin.repaired:
            kind = "repaired" if origin.origin == "repair" else "revised"
            rank += shown(f"\n{kind} ({origin.label()})", "magenta")
        table.add_row(
            rank,
            f"{candidate.score:.2f}",
            Syntax(candidate.statement, "lean", word_wrap=True, theme="ansi_dark"),
            lean,
            shown(scores + f"\ncluster {candidate.cluster_size}"),
            back_translation,
        )
    console.print(table)
    counts = " → ".join(f"{stage} {n}" for stage, n in result.stage_counts.items())
    console.print(shown(f"stages: {counts}   ({result.timings.get('total', 0.0):.1f} s)"))
    if result.repair_rounds or result.extra_requests:
        rounds = "; ".join(
            f"round {r.round}: {r.requests} request(s) → {r.checked} checked, {r.elaborated} elaborated"
            for r in result.repair_rounds
        )
        console.print(shown(f"repair: {rounds or 'no round'}   ({result.extra_requests} extra LLM request(s))"))
    for error in result.errors:
        console.print(shown("note: ", "yellow") + shown(error))
