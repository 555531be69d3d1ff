"""`autoformal formalize`: informal text → ranked Lean 4 statements (rich table or JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from autoformal.cli.app import app, read_text_argument

if TYPE_CHECKING:
    from rich.console import Console

    from autoformal.config import FormalizerConfig
    from autoformal.results import FormalizationResult

BackendKind = Literal["openai", "transformers", "vllm"]

SamplesOption = Annotated[
    int | None, typer.Option("-k", "--samples", min=1, help="Candidates sampled per input (default 8).")
]
NoLeanOption = Annotated[
    bool, typer.Option("--no-lean", help="Skip Lean elaboration: output is UNCHECKED and labelled as such.")
]
BackendOption = Annotated[
    str | None, typer.Option("--backend", help="openai (an OpenAI-compatible server, default), transformers, vllm.")
]
ModelOption = Annotated[str | None, typer.Option("--model", help="Model id (server model, hub id or directory).")]
BaseUrlOption = Annotated[
    str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1.")
]
JudgeOption = Annotated[
    bool,
    typer.Option(
        "--judge",
        help="Also ask an LLM judge whether each back-translation is equivalent to, weaker or stronger than, "
        "or unrelated to the input; the verdict is averaged into the back_translation score.",
    ),
]
JudgeModelOption = Annotated[
    str | None,
    typer.Option("--judge-model", help="Model id of the judge (implies --judge); default: the generation model."),
]


def build_config(
    *,
    samples: int | None,
    no_lean: bool,
    backend: str | None,
    model: str | None,
    base_url: str | None,
    judge: bool = False,
    judge_model: str | None = None,
) -> FormalizerConfig:
    """`FormalizerConfig` from env/TOML with the command-line overrides applied."""
    from pydantic import ValidationError

    from autoformal.config import FormalizerConfig
    from autoformal.llm.config import OpenAIBackendConfig, TransformersBackendConfig, VLLMBackendConfig

    try:
        config = FormalizerConfig()
    except ValidationError as exc:
        raise typer.BadParameter(
            f"invalid configuration in AUTOFORMAL_* variables or the TOML file (AUTOFORMAL_CONFIG or "
            f"./autoformal.toml):\n{exc}"
        ) from None
    updates: dict[str, object] = {}
    if samples is not None:
        updates["samples"] = samples
    if no_lean:
        updates["lean"] = False
    if judge or judge_model is not None:
        if not config.backtranslation:
            raise typer.BadParameter("the judge reads back-translations, which the configuration switches off")
        updates["judge"] = True
    if judge_model is not None:
        updates["judge_model"] = judge_model
    kind = backend or config.backend.kind
    if kind not in ("openai", "transformers", "vllm"):
        raise typer.BadParameter(f"unknown backend {kind!r}; use openai, transformers or vllm", param_hint="--backend")
    if backend is not None or model is not None or base_url is not None:
        if kind == "openai":
            current = config.backend if isinstance(config.backend, OpenAIBackendConfig) else OpenAIBackendConfig()
            changes = {k: v for k, v in (("model", model), ("base_url", base_url)) if v is not None}
            updates["backend"] = current.model_copy(update=changes)
        elif kind == "transformers":
            if model is None:
                raise typer.BadParameter("the transformers backend needs --model (hub id or local directory)")
            updates["backend"] = TransformersBackendConfig(model=model)
        else:
            updates["backend"] = VLLMBackendConfig(model=model) if model else VLLMBackendConfig()
    return config.model_copy(update=updates) if updates else config


def make_formalizer(config: FormalizerConfig, err: Console):  # type: ignore[no-untyped-def]
    """A `Formalizer`, or exit 2 with the error's fix (no endpoint → the `vllm serve` command and variables;
    no Lean → the setup steps and `--no-lean`)."""
    from autoformal.checking.errors import LeanNotFoundError
    from autoformal.errors import AutoformalError
    from autoformal.pipeline import Formalizer

    try:
        return Formalizer(config)
    except LeanNotFoundError as exc:
        hint = "Or run with --no-lean to skip elaboration (unchecked output)."
        err.print(f"[red]error:[/red] {exc}\n{hint}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    except AutoformalError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc


NOT_CHECKED_WARNING = (
    "NOT CHECKED BY LEAN (--no-lean): these statements were never elaborated and may not even type-check."
)


@app.command()
def formalize(
    text: Annotated[str, typer.Argument(metavar="TEXT|-", help="The informal statement, or - to read stdin.")],
    samples: SamplesOption = None,
    no_lean: NoLeanOption = False,
    backend: BackendOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    judge: JudgeOption = False,
    judge_model: JudgeModelOption = None,
    header: Annotated[
        Path | None, typer.Option("--header", exists=True, dir_okay=False, help="Lean header file (imports, opens).")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Candidates shown in the table.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="The full FormalizationResult as JSON on stdout.")] = False,
) -> None:
    """Formalize informal mathematics into ranked Lean 4 theorem statements.

    Needs an LLM endpoint (AUTOFORMAL_BASE_URL or --base-url) and, unless --no-lean, a Lean project
    (AUTOFORMAL_LEAN_PROJECT). Exit code 1 when no candidate survives.
    """
    from rich.console import Console

    from autoformal.errors import AutoformalError

    err = Console(stderr=True)
    informal = read_text_argument(text)
    if not informal.strip():
        raise typer.BadParameter("empty input: pass the statement as an argument or on stdin with -")
    config = build_config(
        samples=samples,
        no_lean=no_lean,
        backend=backend,
        model=model,
        base_url=base_url,
        judge=judge,
        judge_model=judge_model,
    )
    header_text = header.read_text(encoding="utf-8") if header is not None else None
    with make_formalizer(config, err) as formalizer:
        try:
            result = formalizer.formalize(informal.strip(), header=header_text)
        except AutoformalError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from exc
    if not result.lean_checked:
        err.print(f"[bold yellow]WARNING: {NOT_CHECKED_WARNING}[/]")
    if as_json:
        typer.echo(result.model_dump_json())
    else:
        print_result(result, Console(), top=top)
    raise typer.Exit(0 if result.candidates else 1)


def print_result(result: FormalizationResult, console: Console, *, top: int = 5) -> None:
    from rich.markup import escape
    from rich.panel import Panel
    from rich.syntax import Syntax
    from rich.table import Table

    if not result.lean_checked:
        console.print(Panel(NOT_CHECKED_WARNING, style="bold yellow", title="--no-lean"))
    table = Table(show_lines=True, title=f"{len(result.candidates)} ranked candidate(s) from {result.model}")
    for column in ("#", "score", "statement", "Lean", "scores", "back-translation"):
        table.add_column(column, overflow="fold")
    for candidate in result.candidates[:top]:
        lean = "not checked" if candidate.lean is None else ("[green]ok[/]" if candidate.lean.ok else "[red]error[/]")
        scores = "\n".join(f"{name} {value:.2f}" for name, value in candidate.scores.items())
        judged = f"\n[bold]judge:[/] {escape(candidate.judgement.summary)}" if candidate.judgement else ""
        origin = candidate.provenance
        marker = f"\n[magenta]{'repaired' if origin.origin == 'repair' else 'revised'} ({origin.label()})[/]"
        table.add_row(
            str(candidate.rank) + (marker if origin.repaired else ""),
            f"{candidate.score:.2f}",
            Syntax(candidate.statement, "lean", word_wrap=True, theme="ansi_dark"),
            lean,
            scores + f"\ncluster {candidate.cluster_size}",
            escape(candidate.back_translation or "") + judged,
        )
    console.print(table)
    counts = " → ".join(f"{stage} {n}" for stage, n in result.stage_counts.items())
    console.print(f"stages: {counts}   ({result.timings.get('total', 0.0):.1f} s)")
    if result.repair_rounds or result.extra_requests:
        rounds = "; ".join(
            f"round {r.round}: {r.requests} request(s) → {r.checked} checked, {r.elaborated} elaborated"
            for r in result.repair_rounds
        )
        console.print(f"repair: {rounds or 'no round'}   ({result.extra_requests} extra LLM request(s))")
    for error in result.errors:
        console.print(f"[yellow]note:[/] {error}", highlight=False)
