"""`autoformal equiv A B`: is statement A equivalent to statement B? Lean tries to prove each from the other
with the fixed portfolio (see `autoformal.checking.equivalence`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from autoformal.cli.app import app, read_text_argument

# Exit codes: 0 equivalent, 1 proved one way or not at all, 2 a statement or the setup is in error.
_EXIT = {"equivalent": 0, "a_implies_b": 1, "b_implies_a": 1, "unknown": 1, "error": 2}


@app.command()
def equiv(
    a: Annotated[
        str, typer.Argument(metavar="A", help="First statement, e.g. 'theorem a (n : Nat) : n + 0 = n := sorry'.")
    ],
    b: Annotated[str, typer.Argument(metavar="B", help="Second statement (or - to read it from standard input).")],
    header: Annotated[
        Path | None,
        typer.Option(
            "--header", exists=True, dir_okay=False, help="Header file (imports, opens, allow-listed options)."
        ),
    ] = None,
    no_header: Annotated[
        bool, typer.Option("--no-header", help="Elaborate with no header (a core-only Lean has no Mathlib).")
    ] = False,
    probes: Annotated[
        bool, typer.Option("--probes", help="Also probe each statement: vacuous, trivial, refuted.")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds per proof script.")] = 10.0,
    kimina_url: Annotated[
        str | None,
        typer.Option("--kimina-url", envvar="AUTOFORMAL_KIMINA_URL", help="Prove on a Kimina Lean Server instead."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
) -> None:
    """Prove A ⇒ B and B ⇒ A with Lean. Exit 0 if equivalent, 1 if one way or unknown, 2 on an error."""
    import json

    from rich.console import Console

    from autoformal.checking import DEFAULT_HEADER, KiminaCheckerConfig, ReplCheckerConfig, build_checker
    from autoformal.checking.equivalence import equivalent_many
    from autoformal.checking.probes import probe_many
    from autoformal.checking.protocol import run_coroutine_sync
    from autoformal.checking.semantic import SemanticChecker, SemanticConfig
    from autoformal.errors import AutoformalError

    err = Console(stderr=True)
    if header is not None and no_header:
        raise typer.BadParameter("give either --header or --no-header")
    a_text, b_text = read_text_argument(a), read_text_argument(b)
    header_text = "" if no_header else header.read_text(encoding="utf-8") if header is not None else DEFAULT_HEADER
    config = (
        KiminaCheckerConfig.model_validate({"url": kimina_url, "timeout_s": timeout})
        if kimina_url
        else ReplCheckerConfig(timeout_s=timeout, num_workers=2)
    )
    try:
        with build_checker(config) as checker:
            semantic = SemanticChecker(checker, config=SemanticConfig(timeout_s=timeout))
            result = run_coroutine_sync(lambda: equivalent_many(semantic, [(a_text, b_text)], header_text))[0]
            reports = run_coroutine_sync(lambda: probe_many(semantic, [a_text, b_text], header_text)) if probes else []
    except AutoformalError as exc:
        err.print(f"[red]error:[/red] {_escape(str(exc))}", markup=True, highlight=False)
        raise typer.Exit(2) from exc

    if as_json:
        payload = result.model_dump(mode="json")
        if probes:
            payload["probes"] = {"a": reports[0].model_dump(mode="json"), "b": reports[1].model_dump(mode="json")}
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        _print(result, reports)
    raise typer.Exit(_EXIT[result.verdict.value])


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _print(result: object, reports: Sequence[object]) -> None:
    from rich.console import Console
    from rich.text import Text

    from autoformal.checking.equivalence import Equivalence
    from autoformal.checking.probes import ProbeReport

    assert isinstance(result, Equivalence)
    console = Console()
    colour = {"equivalent": "green", "error": "red", "unknown": "yellow"}.get(result.verdict.value, "cyan")
    console.print(Text("verdict: ") + Text(result.verdict.value, style=f"bold {colour}"))
    if result.detail:
        console.print(Text(result.detail))
    for label, direction in (("A ⇒ B", result.a_to_b), ("B ⇒ A", result.b_to_a)):
        line = Text(f"{label}: ")
        if direction.proved:
            line += Text(f"proved by {direction.tactic}", style="green")
        else:
            line += Text("not proved", style="yellow")
            if direction.inconclusive:
                line += Text(f" (inconclusive: {', '.join(direction.inconclusive)})")
        console.print(line)
    for name, report in zip(("A", "B"), reports, strict=False):
        assert isinstance(report, ProbeReport)
        flags = ", ".join(f"{flag} by {tactic}" for flag, tactic in report.flags.items()) or "no flag"
        console.print(Text(f"probes {name}: {report.error or flags}"))
