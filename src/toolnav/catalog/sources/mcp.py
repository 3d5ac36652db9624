"""Tools of downstream MCP servers, listed from an ``mcpServers`` configuration.

The configuration is the common one: ``{"mcpServers": {"name": {"command", "args", "env"}}}``
for a stdio server, or ``{"name": {"url": "http://.../mcp"}}`` for streamable HTTP. Each server
is started (or contacted) once to list its tools; the tools are named ``server__tool``
(`toolnav.tool.NAMESPACE_SEPARATOR`), grouped by server, and bound as
``{"kind": "mcp", "server", "tool", "config"}`` so `toolnav.execute` can call them later.

Example:
    tools = tools_from_mcp_config({"mcpServers": {"calc": {"command": "python",
                                                           "args": ["examples/mcp_server.py"]}}})
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from toolnav.errors import SourceError, ToolExecutionError
from toolnav.tool import NAMESPACE_SEPARATOR, Tool

__all__ = ["LIST_TIMEOUT_SECONDS", "connect", "tools_from_mcp_config"]

LIST_TIMEOUT_SECONDS = 30.0


def tools_from_mcp_config(data: Mapping[str, Any], *, source: str = "mcp") -> list[Tool]:
    """List the tools of every server in an ``mcpServers`` configuration.

    Args:
        data: the parsed configuration document.
        source: the source label given to every tool.

    Returns:
        The tools, server by server, in each server's order.

    Raises:
        SourceError: the configuration is malformed, or a server cannot be started or listed.
    """
    from toolnav.execute import run_sync

    servers = data.get("mcpServers")
    if not isinstance(servers, Mapping) or not servers:
        raise SourceError("'mcpServers' must be an object mapping server names to "
                          "{\"command\", \"args\", \"env\"} or {\"url\"} entries")
    tools: list[Tool] = []
    for server, config in servers.items():
        _check_config(server, config)
        try:
            listed = run_sync(_list_tools(server, config), LIST_TIMEOUT_SECONDS)
        except ToolExecutionError as error:
            raise SourceError(f"MCP server {server!r}: listing tools {error}") from None
        except Exception as error:  # spawn or protocol failures of a third-party server
            raise SourceError(f"MCP server {server!r} could not be listed: "
                              f"{type(error).__name__}: {error}") from None
        tools.extend(_tool(server, config, entry, source) for entry in listed)
    return tools


@contextlib.asynccontextmanager
async def connect(config: Mapping[str, Any], server: str) -> AsyncIterator[Any]:
    """An open `mcp.Client` for one server's configuration entry (stdio or HTTP)."""
    from mcp import Client, StdioServerParameters

    _check_config(server, config)
    if "url" in config:
        target: Any = config["url"]
    else:
        target = StdioServerParameters(command=config["command"],
                                       args=list(config.get("args") or []),
                                       env=dict(config["env"]) if config.get("env") else None,
                                       cwd=config.get("cwd"))
    async with Client(target) as client:
        yield client


async def _list_tools(server: str, config: Mapping[str, Any]) -> list[Any]:
    listed: list[Any] = []
    async with connect(config, server) as client:
        cursor = None
        while True:
            page = await client.list_tools(cursor=cursor)
            listed.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                return listed


def _tool(server: str, config: Mapping[str, Any], entry: Any, source: str) -> Tool:
    schema = dict(entry.input_schema or {"type": "object", "properties": {}})
    schema.setdefault("type", "object")
    return Tool(name=f"{server}{NAMESPACE_SEPARATOR}{entry.name}",
                description=entry.description or "", input_schema=schema,
                output_schema=entry.output_schema, source=source, group=server,
                binding={"kind": "mcp", "server": server, "tool": entry.name,
                         "config": dict(config)})


def _check_config(server: str, config: Any) -> None:
    if not isinstance(config, Mapping) or not ("command" in config or "url" in config):
        raise SourceError(f"MCP server {server!r}: its entry needs \"command\" (stdio) or "
                          f"\"url\" (HTTP), got {config!r}")
    if "command" in config and not isinstance(config.get("args", []), list):
        raise SourceError(f"MCP server {server!r}: \"args\" must be a list of strings")
