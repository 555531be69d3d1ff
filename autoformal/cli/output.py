"""Where the command line writes, and how user data and Lean text are shown.

stdout holds only a command's result (a table, the `.lean` text, or JSON with `--json`); progress bars,
warnings, notes and errors go to stderr, so `autoformal ... --json | jq` always reads JSON.

Everything shown through rich that came from a user, a model, a file or Lean goes through `shown`: rich reads
`[a, b]`, `[inst : Fintype α]` or `→+c[a, b]` as markup and would silently drop them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


def shown(value: object, style: str = "") -> Text:
    """`value` as literal rich text: never read as markup, never highlighted."""
    from rich.text import Text

    return Text(str(value), style=style)


def stdout_console() -> Console:
    """The console for a command's result (tables)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    """The console for progress, warnings and errors."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    """One warning line on stderr (`message` is shown literally)."""
    console = stderr_console()
    console.print(shown("warning: ", "bold yellow") + shown(message, "yellow"), soft_wrap=True)
