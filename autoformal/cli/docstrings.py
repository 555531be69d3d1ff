"""`autoformal docstrings PATH`: Python docstrings → Lean specification theorems (`.lean` file + JSON report)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.text import Text

from autoformal.cli.app import app
from autoformal.cli.formalize import (
    NOT_CHECKED_WARNING,
    BackendOption,
    BaseUrlOption,
    ModelOption,
    NoLeanOption,
    SamplesOption,
    build_config,
    make_formalizer,
)

if TYPE_CHECKING:
    from rich.console import Console

    from autoformal.docstrings import DocstringReport, TypeOptions
    from autoformal.docstrings.modelling import DifferentialConfig
    from autoformal.pipeline import Formalizer


@app.command()
def docstrings(
    path: Annotated[Path, typer.Argument(exists=True, help="A Python file or a package directory (read, never run).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="Write the .lean file here [default: stdout].")
    ] = None,
    report_path: Annotated[
        Path | None, typer.Option("--report", dir_okay=False, help="Write the JSON report here.")
    ] = None,
    real: Annotated[bool, typer.Option("--real", help="Map Python float to ℝ instead of Float.")] = False,
    top: Annotated[int, typer.Option("--top", min=1, help="Ranked candidates written per docstring claim.")] = 1,
    header: Annotated[
        Path | None, typer.Option("--header", exists=True, dir_okay=False, help="Lean header file (imports, opens).")
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", "-c", min=1, help="Claims in flight [default: the config's limits.inputs]."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list functions, Lean declarations and claims; call no model.")
    ] = False,
    samples: SamplesOption = None,
    no_lean: NoLeanOption = False,
    backend: BackendOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report on stdout.")] = False,
    translate: Annotated[
        bool,
        typer.Option(
            "--translate",
            help="Translate each typeable function into a Lean def, kernel-check it on its doctests, and state "
            "the specs about the accepted def (else the opaque declaration, said so).",
        ),
    ] = False,
    run_python: Annotated[
        bool,
        typer.Option(
            "--run-python",
            help="With --translate: RUN the Python functions (sandboxed subprocess: timeout, memory limit, no "
            "network where the kernel allows) on hypothesis-drawn inputs; each output is one more kernel-checked "
            "example, a disagreement a shrunk counterexample.",
        ),
    ] = False,
    differential_examples: Annotated[
        int, typer.Option("--examples", min=1, help="Inputs drawn per function with --run-python.")
    ] = 20,
    declare_with: Annotated[
        str,
        typer.Option("--declare-with", help="`opaque` (Lean 4 since 2022) or `constant` (older Lean 4)."),
    ] = "opaque",
) -> None:
    """Specify every documented function of PATH as Lean theorems about a Lean model of it (`opaque`, or with
    --translate a def the kernel checked against the docstring's examples)."""
    from rich.console import Console

    from autoformal.checking import DEFAULT_HEADER
    from autoformal.docstrings import TypeOptions, plan_docstrings, render_lean
    from autoformal.docstrings.modelling import DifferentialConfig
    from autoformal.errors import AutoformalError, ConfigurationError

    err = Console(stderr=True)
    header_text = header.read_text(encoding="utf-8") if header is not None else DEFAULT_HEADER
    try:
        if declare_with not in ("opaque", "constant"):
            raise ConfigurationError(f"--declare-with {declare_with!r}: use `opaque` or `constant`")
        options = TypeOptions(float_as_real=real, declaration_keyword=declare_with)  # type: ignore[arg-type]
        report = plan_docstrings(path, header=header_text, options=options)
        _print_plan(err, report)
        if run_python and not translate:
            raise ConfigurationError("--run-python checks translations: add --translate")
        if translate and no_lean:
            raise ConfigurationError("--translate needs Lean (the kernel checks each def); drop --no-lean")
        if not dry_run and (report.pending_claims() or translate):
            config = build_config(samples=samples, no_lean=no_lean, backend=backend, model=model, base_url=base_url)
            with make_formalizer(config, err) as formalizer:
                if translate:
                    differential = DifferentialConfig(examples=differential_examples) if run_python else None
                    _translate(err, report, formalizer, options, samples, differential)
                if report.pending_claims():
                    _formalize_with_progress(err, report, formalizer, concurrency)
    except AutoformalError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    rendered = render_lean(report, top=top)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(rendered.text, encoding="utf-8")
        err.print(f"wrote {len(rendered.theorems)} specifications to {output}")
    elif not as_json:
        typer.echo(rendered.text, nl=False)
    for note in rendered.omitted:
        err.print(f"[yellow]omitted: {escape(note)}[/]", highlight=False)
    report_json = report.model_dump_json(indent=2)
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(report_json + "\n", encoding="utf-8")
    if as_json:
        typer.echo(report_json)
    if report.lean_checked is False:
        err.print(f"[bold yellow]WARNING: {NOT_CHECKED_WARNING}[/]")


def _print_plan(err: Console, report: DocstringReport) -> None:
    from rich.table import Table

    for error in report.source_errors:
        where = f"{error.file}:{error.line}" if error.line else str(error.file)
        err.print(f"[yellow]{escape(where)}: skipped: {escape(error.message)}[/]", highlight=False)
    table = Table("function", "Lean declaration / why not", "claims", title=f"{report.path}")
    for function in report.functions:
        declared = (
            function.declaration.text if function.declaration else f"[yellow]not declared: {function.not_declared}"
        )
        where = f"{function.qualname}\n[dim]{function.file}:{function.line}"
        table.add_row(where, declared, str(len(function.claims)))
    err.print(table)
    err.print(
        f"{len(report.files)} files, {len(report.functions)} documented functions "
        f"({sum(f.declaration is not None for f in report.functions)} declared), "
        f"{len(report.pending_claims())} claims to formalize, {report.undocumented} undocumented skipped",
        highlight=False,
    )


def _translate(
    err: Console,
    report: DocstringReport,
    formalizer: Formalizer,
    options: TypeOptions,
    samples: int | None,
    differential: DifferentialConfig | None,
) -> None:
    from rich.table import Table

    from autoformal.checking.semantic import SemanticChecker
    from autoformal.checking.trusted import TrustedProver
    from autoformal.docstrings.modelling import TranslationConfig
    from autoformal.docstrings.spec import translate_docstrings
    from autoformal.errors import ConfigurationError

    if not isinstance(formalizer.checker, TrustedProver):
        raise ConfigurationError("--translate needs a Lean checker that runs proof jobs (the REPL or Kimina)")
    retrievers = formalizer.parts.retrievers
    with err.status("translating functions into Lean defs"):
        asyncio.run(
            translate_docstrings(
                report,
                formalizer.backend,
                SemanticChecker(formalizer.checker),
                options=options,
                config=TranslationConfig(samples=samples or TranslationConfig().samples),
                search=lambda text: retrievers.search(text)[0],
                differential=differential,
            )
        )
    table = Table("function", "Lean model", "doctests ✓/✗/skipped", "differential agreed/tried", title="translations")
    for function in report.functions:
        if function.model is None:
            continue
        model = function.model
        shown = Text(model.accepted) if model.accepted else Text(f"opaque: {model.why_none}", style="yellow")
        counts = f"{model.doctests_passed} / {model.doctests_failed} / {model.doctests_skipped}"
        agreed = f"{model.examples_agreed} / {model.examples_tried}" if differential is not None else "-"
        if model.counterexample is not None:
            agreed += f"\ncounterexample: {model.counterexample.python}\nLean: {model.counterexample.lean}"
        table.add_row(Text(function.qualname), shown, counts, Text(agreed))
    err.print(table)


def _formalize_with_progress(
    err: Console, report: DocstringReport, formalizer: Formalizer, concurrency: int | None
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from autoformal.docstrings import formalize_docstrings

    with Progress(
        TextColumn("[bold]claims"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as progress:
        task = progress.add_task("claims", total=len(report.pending_claims()))
        asyncio.run(
            formalize_docstrings(report, formalizer, concurrency=concurrency, on_done=lambda *_: progress.advance(task))
        )
