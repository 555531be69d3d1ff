"""`autoformal export OUT.jsonl --format repairs|sft|prover`: flywheel data from `autoformal bulk` output."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.markup import escape

from autoformal.cli.app import app

if TYPE_CHECKING:
    from autoformal.export import ExportFormat
    from autoformal.results import FormalizationResult


@app.command()
def export(
    bulk_output: Annotated[
        Path, typer.Argument(metavar="BULK_OUT.jsonl", exists=True, dir_okay=False, help="`autoformal bulk` output.")
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="repairs: (failed statement, Lean errors, corrected statement) per repair that elaborated; "
            "sft: (informal, accepted statement) per problem; prover: miniF2F-style header/formal_statement lines.",
        ),
    ] = "sft",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="Write here instead of standard output.")
    ] = None,
    header: Annotated[
        Path | None,
        typer.Option(
            "--header",
            exists=True,
            dir_okay=False,
            help="The Lean header the bulk run used, for sft/prover lines [default: autoformal's default header].",
        ),
    ] = None,
) -> None:
    """Write training or evaluation data (JSONL) from a bulk run's output; a summary goes to standard error."""
    from rich.console import Console

    from autoformal.checking.header import DEFAULT_HEADER
    from autoformal.errors import AutoformalError
    from autoformal.export import EXPORT_FORMATS, export_rows, read_bulk_records

    err = Console(stderr=True)
    if fmt not in EXPORT_FORMATS:
        choices = ", ".join(EXPORT_FORMATS)
        raise typer.BadParameter(f"unknown format {fmt!r}; use one of {choices}", param_hint="--format")
    header_text = header.read_text(encoding="utf-8") if header is not None else DEFAULT_HEADER
    records: list[str] = []

    def counted() -> Iterator[tuple[str, FormalizationResult, dict[str, Any]]]:
        for item in read_bulk_records(bulk_output):
            records.append(item[0])
            yield item

    lines = 0
    stream = output.open("w", encoding="utf-8") if output is not None else sys.stdout
    try:
        for row in export_rows(counted(), cast("ExportFormat", fmt), header=header_text):
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            lines += 1
    except AutoformalError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        if output is not None:
            stream.close()
    where = escape(str(output)) if output is not None else "standard output"
    err.print(f"{lines} {fmt} lines from {len(records)} problems → {where}", highlight=False)
