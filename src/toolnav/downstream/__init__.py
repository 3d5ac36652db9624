"""Async clients for the places tools run: MCP servers, HTTP APIs and Python callables.

Each module owns one kind of downstream and reports failures as `toolnav.errors.
ToolExecutionError` with a message naming the downstream; `toolnav.execute` picks the client
from a tool's binding and shapes the result.

Example:
    async with MCPPool(store.server_config) as pool:
        result = await pool.call_tool("calc", "add", {"a": 1, "b": 2}, timeout=10)
"""

from toolnav.downstream.mcp import MCPPool

__all__ = ["MCPPool"]
