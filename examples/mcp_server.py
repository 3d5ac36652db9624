"""A small MCP server, written with the official SDK (used by tests and the README).

Over stdio by default; ``--http PORT`` serves streamable HTTP at ``http://127.0.0.1:PORT/mcp``.

Example:
    {"mcpServers": {"calc": {"command": "python", "args": ["examples/mcp_server.py"]}}}
    {"mcpServers": {"calc": {"url": "http://127.0.0.1:8765/mcp"}}}
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("calc")
_served = {"calls": 0}


@server.tool()
def calls_served() -> int:
    """How many calls of this tool this server process has answered (shows session reuse)."""
    _served["calls"] += 1
    return _served["calls"]


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
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
