"""The root Typer application that every command module registers on."""

from __future__ import annotations

import sys
from pathlib import Path

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


def read_input(source: str) -> str:
    """Text from a file path or `-` (stdin), decoded as UTF-8 with a clear error otherwise."""
    raw = sys.stdin.buffer.read() if source == "-" else _read_file(source)
    return _decode(raw, source)


def read_text_argument(text: str) -> str:
    """A command's text argument, or standard input for `-`; invalid UTF-8 is a clear error either way
    (undecodable bytes on the command line reach Python as lone surrogates)."""
    if text == "-":
        return _decode(sys.stdin.buffer.read(), "standard input")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise typer.BadParameter("the text argument is not valid UTF-8") from None
    return text


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise typer.BadParameter(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _read_file(source: str) -> bytes:
    path = Path(source)
    if not path.is_file():
        raise typer.BadParameter(f"{source}: no such file (pass a path, or - to read standard input)")
    return path.read_bytes()


def require_extra(module: str, extra: str) -> None:
    """A clear error, with the install command, when an optional dependency of a command is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise typer.BadParameter(f"this command needs `{module}`: pip install 'autoformal[{extra}]'")
