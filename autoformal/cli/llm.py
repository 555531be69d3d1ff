"""`autoformal llm ...`: check an LLM endpoint and render prompts without running the pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from autoformal.cli.app import app, read_text_argument

llm_app = typer.Typer(help="LLM endpoint and prompt utilities.", no_args_is_help=True)
app.add_typer(llm_app, name="llm")


def _fail(exc: Exception) -> typer.Exit:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
    return typer.Exit(2)


@llm_app.command("models")
def models(
    base_url: Annotated[
        str | None, typer.Option("--base-url", envvar="AUTOFORMAL_BASE_URL", help="e.g. http://localhost:8000/v1")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List the models an OpenAI-compatible server serves (also a connectivity check)."""
    from autoformal.errors import AutoformalError
    from autoformal.llm import OpenAIBackendConfig, OpenAICompatibleBackend

    try:
        backend = OpenAICompatibleBackend(OpenAIBackendConfig(base_url=base_url))
        served = backend.list_served_models()
    except AutoformalError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps(served))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("model", title=f"served by {backend.base_url}")
    for name in served:
        table.add_row(name)
    Console().print(table)


@llm_app.command("prompt")
def prompt(
    text: Annotated[str, typer.Argument(metavar="TEXT|-", help="Informal statement (or Lean statement with -b).")],
    backtranslate: Annotated[
        bool, typer.Option("--backtranslate", "-b", help="Render the back-translation prompt for a Lean statement.")
    ] = False,
    prompts_dir: Annotated[
        Path | None,
        typer.Option("--prompts-dir", envvar="AUTOFORMAL_PROMPTS_DIR", help="Directory overriding templates."),
    ] = None,
    max_prompt_tokens: Annotated[int, typer.Option("--max-prompt-tokens", min=256)] = 16_384,
    as_json: Annotated[bool, typer.Option("--json", help="Print the messages as JSON.")] = False,
) -> None:
    """Render the chat messages sent to the model (no retrieval context, no LLM call)."""
    from autoformal.errors import AutoformalError
    from autoformal.prompts import (
        PromptBudget,
        PromptTemplates,
        build_backtranslation_messages,
        build_formalization_messages,
    )

    source = read_text_argument(text)
    try:
        templates = PromptTemplates(prompts_dir)
        if backtranslate:
            messages = build_backtranslation_messages(source, templates=templates)
        else:
            budget = PromptBudget(max_prompt_tokens=max_prompt_tokens)
            messages = build_formalization_messages(source, budget=budget, templates=templates)
    except AutoformalError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps([message.model_dump() for message in messages], ensure_ascii=False))
        return
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    console = Console()
    for message in messages:
        console.print(Panel(Text(message.content), title=message.role, title_align="left"))
