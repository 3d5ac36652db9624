"""A small MCP server over stdio, written with the official SDK (used by tests and the README).

Run it through an ``mcpServers`` configuration:

Example:
    {"mcpServers": {"calc": {"command": "python", "args": ["examples/mcp_server.py"]}}}
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("calc")


@server.tool()
def multiply(a: float, b: float) -> float:
    """Multiply two numbers."""
    return a * b


@server.tool()
def shout(text: str) -> str:
    """Return the text in upper case."""
    return text.upper()


@server.tool()
def refuse(reason: str) -> str:
    """Always fails with the given reason (to show tool errors)."""
    raise ToolError(f"refused: {reason}")


if __name__ == "__main__":
    server.run()
