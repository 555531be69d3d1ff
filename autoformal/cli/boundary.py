"""The command line's one error boundary and its exit codes.

Every command runs inside `BoundaryGroup.invoke`, so no command catches errors itself:

- an `AutoformalError` (a bad input, a setting, an unreachable server, ...) is one `error:` line on stderr
  whose message names the fix; exit code 2;
- Ctrl-C is `interrupted` on stderr; exit code 130 (bulk first says what it wrote and how to resume);
- anything else is a bug: one line on stderr saying where the full traceback was written; exit code 70.
  `--debug` (or `AUTOFORMAL_DEBUG=1`) lets the traceback through instead.

Usage errors (unknown option, bad value, missing file) are click's, also exit code 2.
"""

from __future__ import annotations

import datetime
import os
import sys
import tempfile
import traceback
from enum import IntEnum
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

DEBUG_ENV = "AUTOFORMAL_DEBUG"
_DEBUG_META_KEY = "autoformal.debug"


class ExitCode(IntEnum):
    """The documented exit codes of every command."""

    OK = 0
    #: Some inputs failed or nothing survived (statements that do not elaborate, bulk problems not written).
    FAILED = 1
    #: Usage, input or configuration error: nothing was done; the message says what to change.
    USAGE = 2
    #: A bug in autoformal: the traceback file named on stderr says where.
    INTERNAL = 70
    #: Interrupted (Ctrl-C / SIGINT).
    INTERRUPTED = 130


#: What click itself reports (usage errors, --help exits, explicit exits). Typer may vendor its own click, so
#: the usage-error base class is taken from typer's `BadParameter` rather than imported from `click`.
_CLICKS_OWN: tuple[type[BaseException], ...] = (
    typer.Exit,
    typer.Abort,
    *(base for base in typer.BadParameter.__mro__ if base.__name__ == "ClickException"),
)


def set_debug(ctx: typer.Context, enabled: bool) -> None:
    ctx.meta[_DEBUG_META_KEY] = enabled


def debugging(ctx: typer.Context | None = None) -> bool:
    if os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    return bool(ctx is not None and ctx.meta.get(_DEBUG_META_KEY))


def report_error(exc: BaseException) -> None:
    """`error: <message>` on stderr, with the `--no-lean` way out when Lean is what is missing."""
    from autoformal.checking.errors import LeanNotFoundError
    from autoformal.cli.output import shown, stderr_console

    message = str(exc) or type(exc).__name__
    if isinstance(exc, LeanNotFoundError):
        message += "\nOr run with --no-lean to skip elaboration (unchecked output)."
    stderr_console().print(shown("error: ", "bold red") + shown(message), soft_wrap=True)


def write_traceback(exc: BaseException) -> Path | None:
    """The full traceback in a new file under the cache directory (else the temp directory)."""
    from autoformal._paths import cache_root

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    text = f"autoformal {' '.join(sys.argv[1:])}\n\n{text}"
    for directory in (cache_root() / "crashes", Path(tempfile.gettempdir())):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"autoformal-crash-{stamp}-{os.getpid()}.txt"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def _is_validation_error(exc: Exception) -> bool:
    from pydantic import ValidationError

    return isinstance(exc, ValidationError)


class BoundaryGroup(TyperGroup):
    """The root command group: runs the chosen command and turns whatever escapes it into one line and an
    exit code (module docstring)."""

    def invoke(self, ctx: Any) -> Any:  # typer's (possibly vendored) click.Context
        from autoformal.cli.output import shown, stderr_console
        from autoformal.errors import AutoformalError

        try:
            return super().invoke(ctx)
        except _CLICKS_OWN:
            raise
        except AutoformalError as exc:
            if debugging(ctx):
                raise
            report_error(exc)
            raise typer.Exit(ExitCode.USAGE) from None
        except KeyboardInterrupt:
            if debugging(ctx):
                raise
            stderr_console().print(shown("interrupted", "bold yellow"))
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        except Exception as exc:
            if debugging(ctx):
                raise
            if isinstance(exc, OSError) and exc.filename is not None:
                # A path the user named that cannot be written or read (permissions, a file where a directory
                # should be, a full disk) is an input problem, not a bug.
                report_error(
                    OSError(f"{exc.filename}: {exc.strerror or exc}; choose another path or fix its permissions")
                )
                raise typer.Exit(ExitCode.USAGE) from None
            if _is_validation_error(exc):
                report_error(ValueError(f"invalid setting: {exc}"))
                raise typer.Exit(ExitCode.USAGE) from None
            where = write_traceback(exc)
            saved = f"; full traceback in {where}" if where else ""
            stderr_console().print(
                shown("internal error: ", "bold red")
                + shown(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}{saved}. "),
                shown(f"This is a bug in autoformal; rerun with --debug (or {DEBUG_ENV}=1) to see it here."),
                soft_wrap=True,
            )
            raise typer.Exit(ExitCode.INTERNAL) from None
