"""`autoformal llm ...`: check an LLM endpoint and render prompts without running the pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from autoformal.cli.app import app, read_text_argument, sub_app
from autoformal.cli.options import BaseUrlOption, TimeoutOption
from autoformal.cli.output import shown

llm_app = sub_app("LLM endpoint and prompt utilities.")
app.add_typer(llm_app, name="llm")


@llm_app.command("models")
def models(
    base_url: BaseUrlOption = None,
    timeout: TimeoutOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List the models an OpenAI-compatible server serves (also a connectivity check)."""
    from autoformal.cli.options import build_config
    from autoformal.cli.output import stdout_console
    from autoformal.errors import ConfigurationError
    from autoformal.llm import OpenAIBackendConfig, OpenAICompatibleBackend

    config = build_config(backend="openai", base_url=base_url).backend
    if not isinstance(config, OpenAIBackendConfig):
        raise ConfigurationError("`llm models` asks an OpenAI-compatible server; the configured backend is not one")
    if timeout is not None:
        config = config.model_copy(update={"probe_timeout_s": timeout})
    backend = OpenAICompatibleBackend(config)
    served = backend.list_served_models()
    if as_json:
        typer.echo(json.dumps(served))
        return
    from rich.table import Table

    table = Table("model", title=shown(f"served by {backend.base_url}"))
    for name in served:
        table.add_row(shown(name))
    stdout_console().print(table)


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
    from autoformal.cli.output import stdout_console
    from autoformal.prompts import (
        PromptBudget,
        PromptTemplates,
        build_backtranslation_messages,
        build_formalization_messages,
    )

    source = read_text_argument(text)
    templates = PromptTemplates(prompts_dir)
    if backtranslate:
        messages = build_backtranslation_messages(source, templates=templates)
    else:
        budget = PromptBudget(max_prompt_tokens=max_prompt_tokens)
        messages = build_formalization_messages(source, budget=budget, templates=templates)
    if as_json:
        typer.echo(json.dumps([message.model_dump() for message in messages], ensure_ascii=False))
        return
    from rich.panel import Panel

    console = stdout_console()
    for message in messages:
        console.print(Panel(shown(message.content), title=shown(message.role), title_align="left"))
