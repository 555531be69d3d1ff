"""autoformal as an MCP server (`autoformal mcp`): tools for agents that must state a theorem before proving it."""

from autoformal.mcp.server import AutoformalTools, build_server

__all__ = ["AutoformalTools", "build_server"]
