"""The root Typer application that every command module registers on."""

from __future__ import annotations

import typer

from autoformal._version import __version__


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"autoformal {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="autoformal",
    help="Turn informal mathematics and docstrings into ranked, elaborating Lean 4 statements.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """autoformal: informal text → Lean 4 theorem statements."""
