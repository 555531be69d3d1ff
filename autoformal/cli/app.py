"""The root Typer application that every command module registers on, and the readers of file and text
arguments (so every command reports a missing file, a directory or non-UTF-8 bytes the same way)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from autoformal._version import __version__
from autoformal.cli.boundary import BoundaryGroup, set_debug


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"autoformal {__version__}")
        raise typer.Exit()


def sub_app(help_text: str) -> typer.Typer:
    """A command group. Help texts are plain text (no rich markup), so `[default: stdout]` stays visible."""
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode=None)


app = typer.Typer(
    name="autoformal",
    help="Turn informal mathematics and docstrings into ranked, elaborating Lean 4 statements.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=BoundaryGroup,
    context_settings={"max_content_width": 120},
)


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Show full tracebacks instead of one-line errors (also AUTOFORMAL_DEBUG=1)."
    ),
) -> None:
    """autoformal: informal text → Lean 4 theorem statements.

    Exit codes: 0 success; 1 some inputs failed (or nothing survived); 2 usage, input or configuration error;
    70 internal error (a bug: the traceback file is named); 130 interrupted.
    """
    set_debug(ctx, debug)
    _quiet_library_progress_bars()
    _warn_unknown_variables()


def _quiet_library_progress_bars() -> None:
    """Hugging Face's progress bars (transformers' `Loading weights`, hub downloads) and load reports write to
    stderr; when stderr is not a terminal (a log file, a pipe) they are only noise, so they are switched off."""
    import os

    if not sys.stderr.isatty():
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # read when they are imported
        # tqdm bars of other libraries (model2vec's "Encoding tokens" while distilling the static encoder)
        os.environ.setdefault("TQDM_DISABLE", "1")
        # transformers also logs a weight "LOAD REPORT" at warning level when a checkpoint has unused keys
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        if "transformers" in sys.modules:  # imported already (a library caller, a test session)
            sys.modules["transformers"].utils.logging.disable_progress_bar()
            sys.modules["transformers"].utils.logging.set_verbosity_error()


def _warn_unknown_variables() -> None:
    import os

    from autoformal._known_variables import FREE_FORM_PREFIXES, KNOWN_VARIABLES

    set_names = [name.upper() for name in os.environ if name.upper().startswith("AUTOFORMAL_")]
    if all(name in KNOWN_VARIABLES or name.startswith(FREE_FORM_PREFIXES) for name in set_names):
        # Every name is one the generated list knows (tests keep it equal to the models'), so the configuration
        # models, which cost 0.4 s to import, stay unimported; any other name is judged by the models themselves.
        return
    from autoformal.cli.output import warn
    from autoformal.config import FormalizerConfig
    from autoformal.envvars import unknown_variables

    for name, closest in unknown_variables(FormalizerConfig):
        hint = f"did you mean {closest}?" if closest else "see the README's configuration section"
        warn(f"{name} is set but autoformal reads no such variable ({hint})")


def read_input(source: str) -> str:
    """Text from a file path or `-` (stdin), decoded as UTF-8 with a clear error otherwise."""
    raw = sys.stdin.buffer.read() if source == "-" else read_file_bytes(Path(source))
    return _decode(raw, "standard input" if source == "-" else source)


def read_text_argument(text: str, what: str = "input") -> str:
    """A command's text argument, or standard input for `-`; invalid UTF-8 and empty text are clear errors
    either way (undecodable bytes on the command line reach Python as lone surrogates)."""
    if text == "-":
        decoded = _decode(sys.stdin.buffer.read(), "standard input")
    else:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise typer.BadParameter("the text argument is not valid UTF-8") from None
        decoded = text
    if not decoded.strip():
        raise typer.BadParameter(f"empty {what}: pass the text as an argument, or on standard input with -")
    return decoded


def read_text_file(path: Path, what: str = "file") -> str:
    """A UTF-8 text file, with one-line errors for a missing file, a directory or other bytes."""
    return _decode(read_file_bytes(path, what), str(path))


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise typer.BadParameter(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def require_extra(module: str, extra: str) -> None:
    """A clear error, with the install command, when an optional dependency of a command is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise typer.BadParameter(f"this command needs `{module}`: pip install 'autoformal[{extra}]'")


def read_file_bytes(path: Path, what: str = "file") -> bytes:
    """A file's bytes; a directory, a missing or an unreadable path is a one-line usage error."""
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a directory; pass a {what} (or - to read standard input)")
    if not path.exists():
        raise typer.BadParameter(f"{path}: no such file (pass a path, or - to read standard input)")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"{path}: cannot read it ({exc.strerror or exc})") from None


def ensure_writable(path: Path, option: str, *, directory: bool = False) -> None:
    """A one-line usage error, before any work, when `path` cannot be created: an existing directory where a
    file is wanted (or the reverse), or a file where one of its parent directories should be."""
    if path.is_dir() and not directory:
        raise typer.BadParameter(f"{path} is a directory; pass a file path", param_hint=option)
    if path.exists() and not path.is_dir() and directory:
        raise typer.BadParameter(f"{path} is a file; pass a directory path", param_hint=option)
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise typer.BadParameter(f"{parent} is a file, so {path} cannot be created in it", param_hint=option)
            break


def resume_command(ctx: typer.Context) -> str:
    """The running command line with `--resume` (and without `--overwrite`), rebuilt from its parsed
    parameters: what to run to continue an interrupted run."""
    words = ["autoformal", *ctx.command_path.split()[1:]]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if param.name in ("resume", "overwrite") or value is None or value == param.default or value is False:
            continue
        option = max(param.opts, key=len)  # the long spelling reads best
        if param.param_type_name == "argument":
            words.append(str(value))
        elif value is True:
            words.append(option)
        else:
            words += [option, str(value.value if hasattr(value, "value") else value)]
    return shlex.join([*words, "--resume"])
