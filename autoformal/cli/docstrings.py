"""`autoformal docstrings PATH`: Python docstrings → Lean specification theorems (`.lean` file + JSON report)."""

from __future__ import annotations

import time
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
)
from autoformal.cli.output import shown

if TYPE_CHECKING:
    from rich.console import Console

    from autoformal.docstrings import DocstringReport, TypeOptions
    from autoformal.docstrings.modelling import DifferentialConfig, FunctionModel, TranslationConfig
    from autoformal.pipeline import Formalizer

#: Seconds between report checkpoints during a run (each rewrites the whole report).
_CHECKPOINT_INTERVAL_S = 5.0


@app.command()
def docstrings(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(exists=True, help="A Python file or a package directory (read, never run).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="Write the .lean file here [default: stdout].")
    ] = None,
    report_path: Annotated[
        Path | None,
        typer.Option("--report", dir_okay=False, help="Write the JSON report here (kept up to date during the run)."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Keep the results in the --report file of an earlier run; formalize only the rest."
        ),
    ] = False,
    real: Annotated[bool, typer.Option("--real", help="Map Python float to ℝ instead of Float.")] = False,
    top: Annotated[int, typer.Option("--top", min=1, help="Ranked candidates written per docstring claim.")] = 1,
    header: HeaderOption = None,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", "-c", min=1, help="Claims in flight (default: the config's limits.inputs)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list functions, Lean declarations and claims; call no model.")
    ] = False,
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
    --translate a def the kernel checked against the docstring's examples).

    Exit code 2 when no file could be read (syntax error, not UTF-8, binary; with others readable, the
    unreadable ones are listed and skipped); 1 when a claim failed; 130 when interrupted (rerun with --resume).
    """
    from autoformal.checking import DEFAULT_HEADER
    from autoformal.cli.output import stderr_console
    from autoformal.docstrings import TypeOptions, plan_docstrings, render_lean
    from autoformal.docstrings.modelling import DifferentialConfig, TranslationConfig
    from autoformal.docstrings.resume import carry_over, load_report, write_report
    from autoformal.errors import ConfigurationError, InvalidInputError

    err = stderr_console()
    if resume and report_path is None:
        raise typer.BadParameter("--resume continues the --report file of an earlier run; pass --report FILE too")
    for option, target in (("-o", output), ("--report", report_path)):
        if target is not None:
            ensure_writable(target, option)
    header_text = read_text_file(header, "Lean header file") if header is not None else DEFAULT_HEADER
    if declare_with not in ("opaque", "constant"):
        raise ConfigurationError(f"--declare-with {declare_with!r}: use `opaque` or `constant`")
    if run_python and not translate:
        raise ConfigurationError("--run-python checks translations: add --translate")
    if translate and no_lean:
        raise ConfigurationError("--translate needs Lean (the kernel checks each def); drop --no-lean")
    options = TypeOptions(float_as_real=real, declaration_keyword=declare_with)  # type: ignore[arg-type]
    report = plan_docstrings(path, header=header_text, options=options)
    if resume and report_path is not None and report_path.is_file():
        kept = carry_over(load_report(report_path), report)
        err.print(shown(f"--resume: kept {kept} results from {report_path}"))
    _print_plan(err, report)
    if report.source_errors and not report.functions:
        unreadable = "; ".join(f"{e.file}: {e.message}" for e in report.source_errors[:3])
        raise InvalidInputError(f"no Python source could be read under {path} ({unreadable})")
    if not dry_run and (report.pending_claims() or translate):
        config = config_from_options(ctx)
        with make_formalizer(config, save_config_to) as formalizer:
            if translate:
                differential = DifferentialConfig(examples=differential_examples) if run_python else None
                translation = TranslationConfig(
                    samples=config.samples,
                    repair_rounds=config.repair_rounds,
                    repair_max_requests=config.repair_max_requests,
                )
                _translate(err, report, formalizer, options, translation, differential)
            try:
                if report.pending_claims():
                    _formalize_with_progress(err, report, formalizer, concurrency, report_path)
            except KeyboardInterrupt:
                if report_path is not None:
                    write_report(report, report_path)
                    done = sum(c.result is not None for f in report.functions for c in f.claims)
                    err.print(shown(f"interrupted: {done} claims formalized, saved in {report_path}. Continue with:"))
                    err.print(shown(f"  {resume_command(ctx)}"))
                else:
                    err.print(shown("interrupted: nothing saved; pass --report FILE to be able to --resume"))
                raise typer.Exit(ExitCode.INTERRUPTED) from None
    rendered = render_lean(report, top=top)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(rendered.text, encoding="utf-8")
        err.print(shown(f"wrote {len(rendered.theorems)} specifications to {output}"))
    elif not as_json:
        typer.echo(rendered.text, nl=False)
    for note in rendered.omitted:
        err.print(shown(f"omitted: {note}", "yellow"))
    if report_path is not None:
        write_report(report, report_path)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    if report.lean_checked is False:
        err.print(f"[bold yellow]WARNING: {NOT_CHECKED_WARNING}[/]")
    if any(c.error is not None for f in report.functions for c in f.claims):
        raise typer.Exit(ExitCode.FAILED)


def _print_plan(err: Console, report: DocstringReport) -> None:
    from rich.table import Table

    for error in report.source_errors:
        where = f"{error.file}:{error.line}" if error.line else str(error.file)
        err.print(shown(f"{where}: skipped: {error.message}", "yellow"))
    table = Table("function", "Lean declaration / why not", "claims", title=shown(str(report.path)))
    for function in report.functions:
        if function.declaration:
            declared = shown(function.declaration.text)
        else:
            declared = shown(f"not declared: {function.not_declared}", "yellow")
        place = shown(function.qualname) + shown(f"\n{function.file}:{function.line}", "dim")
        table.add_row(place, declared, str(len(function.claims)))
    err.print(table)
    err.print(
        shown(
            f"{len(report.files)} files, {len(report.functions)} documented functions "
            f"({sum(f.declaration is not None for f in report.functions)} declared), "
            f"{len(report.pending_claims())} claims to formalize, {report.undocumented} undocumented skipped"
        )
    )


def _translate(
    err: Console,
    report: DocstringReport,
    formalizer: Formalizer,
    options: TypeOptions,
    translation: TranslationConfig,
    differential: DifferentialConfig | None,
) -> None:
    import asyncio

    from rich.table import Table

    from autoformal.checking.semantic import SemanticChecker
    from autoformal.checking.trusted import TrustedProver
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
                config=translation,
                search=lambda text: retrievers.search(text)[0],
                differential=differential,
            )
        )
    table = Table(
        "function", "Lean model", "doctests ✓/✗/skipped", "differential agreed/tried", "repair", title="translations"
    )
    for function in report.functions:
        if function.model is None:
            continue
        model = function.model
        lean_model = shown(model.accepted) if model.accepted else shown(f"opaque: {model.why_none}", "yellow")
        counts = f"{model.doctests_passed} / {model.doctests_failed} / {model.doctests_skipped}"
        agreed = f"{model.examples_agreed} / {model.examples_tried}" if differential is not None else "-"
        if model.counterexample is not None:
            agreed += f"\ncounterexample: {model.counterexample.python}\nLean: {model.counterexample.lean}"
        table.add_row(shown(function.qualname), lean_model, counts, shown(agreed), shown(_repair_summary(model)))
    err.print(table)


def _repair_summary(model: FunctionModel) -> str:
    """`-` without repair requests; else how many were sent and which one (if any) gave the accepted def."""
    if not model.repairs and not model.repairs_unsent and model.repair_error is None:
        return "-"
    accepted = next((r for r in model.repairs if r.sample is not None and r.sample == model.accepted_sample), None)
    summary = f"{len(model.repairs)} request(s)"
    if accepted is not None:
        summary += f"; accepted the round-{accepted.round} correction of sample {accepted.parent}"
    if model.repairs_unsent:
        summary += f"; {model.repairs_unsent} left unrepaired (repair_max_requests)"
    if model.repair_error is not None:
        summary += f"; {model.repair_error}"
    return summary


def _formalize_with_progress(
    err: Console, report: DocstringReport, formalizer: Formalizer, concurrency: int | None, report_path: Path | None
) -> None:
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from autoformal.docstrings import formalize_docstrings
    from autoformal.docstrings.resume import write_report

    last_checkpoint = time.monotonic()

    with Progress(
        TextColumn("[bold]claims"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as progress:
        task = progress.add_task("claims", total=len(report.pending_claims()))

        def on_done(*_: object) -> None:
            nonlocal last_checkpoint
            progress.advance(task)
            # A checkpoint of the report, so an interrupted or killed run resumes from here.
            if report_path is not None and time.monotonic() - last_checkpoint >= _CHECKPOINT_INTERVAL_S:
                write_report(report, report_path)
                last_checkpoint = time.monotonic()

        asyncio.run(formalize_docstrings(report, formalizer, concurrency=concurrency, on_done=on_done))
