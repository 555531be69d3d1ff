"""`autoformal mcp`: serve autoformal's tools to MCP hosts (agents) over stdio or streamable HTTP."""

from __future__ import annotations

from typing import Annotated

import typer

from autoformal.cli.app import app, require_extra


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise typer.BadParameter(f"expected HOST:PORT (e.g. 127.0.0.1:8765), got {value!r}", param_hint="--http")
    return host, int(port)


@app.command()
def mcp(
    http: Annotated[
        str | None,
        typer.Option("--http", metavar="HOST:PORT", help="Serve streamable HTTP here instead of stdio."),
    ] = None,
    no_lean: Annotated[bool, typer.Option("--no-lean", help="Do not start Lean (check, formalize skip it).")] = False,
) -> None:
    """Run the MCP server (tools: formalize, check, search_mathlib, parse). Settings come from AUTOFORMAL_*
    variables and autoformal.toml, as for `formalize`; components start on first use and stay warm."""
    import logging

    from pydantic import ValidationError

    require_extra("mcp", "serve")

    from autoformal.config import FormalizerConfig
    from autoformal.mcp import AutoformalTools, build_server

    address = _host_port(http) if http is not None else None
    # stdout is the protocol channel over stdio: every log line goes to stderr
    logging.basicConfig(level=logging.WARNING, format="autoformal mcp: %(levelname)s %(message)s")
    try:
        config = FormalizerConfig()
    except ValidationError as exc:
        raise typer.BadParameter(f"invalid configuration in AUTOFORMAL_* variables or the TOML file:\n{exc}") from None
    if no_lean:
        config = config.model_copy(update={"lean": False})
    tools = AutoformalTools(config)
    server = build_server(config, tools=tools)
    try:
        if address is None:
            server.run("stdio")
        else:
            server.run("streamable-http", host=address[0], port=address[1])
    except KeyboardInterrupt:
        pass
    finally:
        tools.close()
