"""`autoformal review OUT.jsonl`: review bulk output in a local web page; verdicts go to OUT.labels.jsonl."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from autoformal.cli.app import app, require_extra


@app.command()
def review(
    output: Annotated[Path, typer.Argument(metavar="OUT.jsonl", help="The output of `autoformal bulk`.")],
    gold: Annotated[
        Path | None,
        typer.Option("--gold", help="The bulk input (or any benchmark JSONL): gold statements and headers by id."),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="Where verdicts are appended (default: OUT.labels.jsonl beside OUT.jsonl)."),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Interface to bind (keep 127.0.0.1 unless you must).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0 picks a free port.")] = 8765,
    reviewer: Annotated[str, typer.Option("--reviewer", help="Your name, recorded with each verdict.")] = "reviewer",
    lean: Annotated[bool, typer.Option("--lean/--no-lean", help="Check edited statements with Lean too.")] = False,
) -> None:
    """Review candidates (j/k move, a/r faithful/unfaithful, e edit); `autoformal eval LABELS` scores on them."""
    import socket

    require_extra("uvicorn", "serve")
    import uvicorn
    from rich.console import Console
    from rich.markup import escape

    from autoformal.review.app import ReviewState, build_app
    from autoformal.review.store import LabelStore, labels_path_for, load_problems

    for path in (output, gold):
        if path is not None and not path.is_file():
            what = "a directory" if path.is_dir() else "no such file"
            raise typer.BadParameter(f"{path}: {what} (pass a JSONL file)")
    problems = load_problems(output, gold)
    checker = None
    header = ""
    if lean:
        from autoformal.checking.factory import build_checker
        from autoformal.config import FormalizerConfig

        config = FormalizerConfig()
        checker, header = build_checker(config.checker), config.header
    state = ReviewState(problems=problems, labels=LabelStore(labels or labels_path_for(output)), reviewer=reviewer,
                        checker=checker, header=header)  # fmt: skip
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.bind((host, port))  # bound before the URL is printed, so the printed port is the real one
    url = f"http://{host}:{sock.getsockname()[1]}/?token={state.token}"
    err = Console(stderr=True, highlight=False)
    where = escape(str(state.labels.path))
    err.print(f"reviewing {len(problems)} problems from {escape(str(output))}; verdicts → {where}")
    err.print(f"open {escape(url)}  (Ctrl-C stops; every verdict is already on disk)")
    server = uvicorn.Server(uvicorn.Config(build_app(state), log_level="warning"))
    try:
        server.run(sockets=[sock])
    finally:
        state.labels.close()
        if checker is not None:
            checker.close()
