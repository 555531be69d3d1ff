"""`autoformal check`: elaborate statements with Lean and print each one's status and messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from autoformal.cli.app import app, read_input, read_text_file
from autoformal.cli.boundary import ExitCode
from autoformal.cli.output import shown

if TYPE_CHECKING:
    from rich.console import Console

    from autoformal.checking import CheckResult


def read_statements(text: str) -> list[str]:
    """The statements of `text` (`statements_and_skipped` without the notes)."""
    return statements_and_skipped(text)[0]


def statements_and_skipped(text: str) -> tuple[list[str], list[str]]:
    """Statements from a JSONL text (objects with a `statement` field) or from blank-line-separated blocks,
    and a note per JSONL line that was skipped (like bulk, a bad line costs that line, not the run)."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        from autoformal.corpus.jsonl import describe_json_error  # here: `corpus` loads pydantic at start-up

        statements: list[str] = []
        skipped: list[str] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                skipped.append(f"line {number}: not JSON ({describe_json_error(exc)})")
                continue
            if not isinstance(row, dict) or not isinstance(row.get("statement"), str):
                skipped.append(f"line {number}: no string `statement` field")
                continue
            statements.append(row["statement"])
        return statements, skipped
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip():
            blocks[-1].append(line.rstrip())
        elif blocks[-1]:
            blocks.append([])
    return ["\n".join(b) for b in blocks if b], []


@app.command()
def check(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE|-",
            help="Statements: blank-line-separated blocks, or JSONL with a `statement` field.",
        ),
    ],
    header: Annotated[
        Path | None,
        typer.Option(
            "--header",
            exists=True,
            dir_okay=False,
            help="Header file (imports, opens, allow-listed options).",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds per statement.")] = 60.0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="REPL processes (each loads the header once).")] = 2,
    kimina_url: Annotated[
        str | None,
        typer.Option("--kimina-url", envvar="AUTOFORMAL_KIMINA_URL", help="Check on a Kimina Lean Server instead."),
    ] = None,
    kimina_repls: Annotated[
        int | None,
        typer.Option(
            "--kimina-repls",
            envvar="AUTOFORMAL_KIMINA_REPLS",
            min=1,
            help="The Kimina server's LEAN_SERVER_MAX_REPLS; sizes how many requests are in flight.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON result per line on stdout.")] = False,
) -> None:
    """Check that each statement elaborates with Lean (proofs are `sorry`).

    Exit code 1 if any statement does not elaborate or any JSONL line was skipped; 2 if there is no statement.
    """
    from rich.progress import Progress

    from autoformal.checking import DEFAULT_HEADER, KiminaCheckerConfig, ReplCheckerConfig, build_checker
    from autoformal.cli.output import stderr_console, stdout_console
    from autoformal.errors import InvalidInputError

    err = stderr_console()
    text = read_input(source)
    statements, skipped = statements_and_skipped(text)
    for note in skipped:
        err.print(shown(f"{source}: skipped {note}", "yellow"))
    if not statements:
        raise InvalidInputError(
            f"{source}: no statement to check (pass Lean statements separated by blank lines, or JSONL objects "
            "with a `statement` field)"
        )
    header_text = read_text_file(header, "Lean header file") if header is not None else DEFAULT_HEADER
    config = (
        KiminaCheckerConfig.model_validate(
            {"url": kimina_url, "timeout_s": timeout} | ({"server_repls": kimina_repls} if kimina_repls else {})
        )
        if kimina_url
        else ReplCheckerConfig(timeout_s=timeout, num_workers=workers)
    )
    results: list[CheckResult] = []
    with build_checker(config) as checker, Progress(console=err, transient=True) as progress:
        task = progress.add_task("checking", total=len(statements))
        chunk = workers * 4  # small chunks keep the bar moving; the pool stays busy within each
        if isinstance(config, KiminaCheckerConfig):  # a server needs several rounds of concurrent requests
            chunk = config.batch_size * config.max_concurrent_requests * 4
        for start in range(0, len(statements), chunk):
            results.extend(checker.check_sync(statements[start : start + chunk], header_text))
            progress.advance(task, len(statements[start : start + chunk]))

    if as_json:
        for result in results:
            typer.echo(result.model_dump_json())
    else:
        print_check_table(results, stdout_console())
    raise typer.Exit(ExitCode.OK if all(r.ok for r in results) and not skipped else ExitCode.FAILED)


def print_check_table(results: list[CheckResult], console: Console) -> None:
    from rich.table import Table

    colours = {
        "ok": "green",
        "error": "red",
        "timeout": "magenta",
        "crashed": "red",
        "rejected_unsafe": "yellow",
    }
    table = Table(show_lines=True)
    for column in ("#", "status", "statement", "messages", "s"):
        table.add_column(column, overflow="fold")
    for i, r in enumerate(results, start=1):
        lines = [f"{m.line}:{m.column} {m.severity}: {m.text}" for m in r.messages if m.severity != "info"]
        if r.detail:
            lines.append(r.detail)
        table.add_row(
            str(i),
            shown(r.status.value, colours[r.status.value]),
            shown(r.statement),
            shown("\n".join(lines)),
            f"{r.elapsed_s:.2f}",
        )
    console.print(table)
    ok = sum(r.ok for r in results)
    console.print(shown(f"{ok}/{len(results)} statements elaborate"))
