"""`autoformal parse FILE|-`: show how the statement grammar reads a Lean statement."""

from __future__ import annotations

import json

import typer

from autoformal.cli.app import app, read_input
from autoformal.cli.boundary import ExitCode
from autoformal.cli.output import shown
from autoformal.errors import InvalidInputError, StatementSyntaxError


@app.command()
def parse(
    source: str = typer.Argument(..., help="A .lean file or statement text file, or - for standard input."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Parse Lean declarations and print name, binders, conclusion, identifiers and canonical form.

    Exit code 1 when the text does not parse.
    """
    from rich.table import Table

    from autoformal.cli.output import stderr_console, stdout_console
    from autoformal.syntax import canonical_form, check_safe, parse_document

    text = read_input(source)
    if not text.strip():
        raise InvalidInputError(f"{source}: empty; pass Lean declarations (e.g. theorem t : 1 + 1 = 2 := sorry)")
    console = stdout_console()
    try:
        doc = parse_document(text)
    except StatementSyntaxError as exc:
        if as_json:
            typer.echo(json.dumps({"error": exc.reason, "line": exc.line, "column": exc.column}))
        else:
            stderr_console().print(shown("syntax error: ", "red") + shown(str(exc)), soft_wrap=True)
        raise typer.Exit(ExitCode.FAILED) from None
    theorem_canonical = None
    if any(d.is_theorem for d in doc.declarations):
        theorem_canonical = canonical_form(doc)
    verdict = check_safe(text)
    if as_json:
        payload = {
            "declarations": [d.model_dump(mode="json") for d in doc.declarations],
            "commands": [c.model_dump(mode="json") for c in doc.commands],
            "canonical_form": theorem_canonical,
            "safe": verdict.model_dump(),
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    for decl in doc.declarations:
        table = Table(title=shown(f"{decl.keyword} {decl.name or ''}".strip()), show_header=False, title_justify="left")
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold")
        for b in decl.binders:
            table.add_row(shown(f"binder ({b.kind})"), shown(f"{b.name} : {b.type}" if b.type else b.name))
        table.add_row("conclusion", shown(decl.conclusion_text or "—"))
        table.add_row("identifiers", shown(", ".join(decl.identifiers) or "—"))
        table.add_row("proof", shown(decl.proof or "—"))
        console.print(table)
    if theorem_canonical is not None:
        console.print(shown("canonical form: ", "bold") + shown(theorem_canonical), soft_wrap=True)
    style = "green" if verdict.ok else "yellow"
    console.print(shown("safety gate: ", "bold") + shown(verdict.reason, style), soft_wrap=True)
