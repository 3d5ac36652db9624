"""Downstream MCP servers: check an ``mcpServers`` configuration, connect, and list tools.

The configuration is the common one: ``{"mcpServers": {"name": {"command", "args", "env",
"cwd"}}}`` for a stdio server, or ``{"name": {"url", "headers"}}`` for Streamable HTTP. Each
server is contacted once to list its tools; the tools are named ``server__tool``
(`toolnav.tool.NAMESPACE_SEPARATOR`), grouped by server and bound as ``{"kind": "mcp",
"server", "tool"}``: the configuration (with its ``env`` and ``headers`` secrets) is returned
apart, to be stored once per server name, and never enters a tool record.

This module is also the one place that opens SDK connections (`connect`) and explains their
failures (`explain_connection_error`); long-lived sessions are `toolnav.downstream.mcp`'s job.

Example:
    tools, servers = tools_from_mcp_config({"mcpServers": {"calc": {
        "command": "python", "args": ["examples/mcp_server.py"]}}})
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

import anyio
import mcp.types as mcp_types
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from toolnav._blocking import BlockingRunner
from toolnav.errors import SourceError
from toolnav.tool import NAMESPACE_SEPARATOR, Tool

__all__ = ["LIST_TIMEOUT_SECONDS", "MAX_LIST_PAGES", "catalog_tools", "check_server_config",
           "connect", "explain_connection_error", "list_client_tools", "list_server_tools",
           "safe_url", "tools_from_mcp_config"]

LIST_TIMEOUT_SECONDS = 30.0
# A server whose cursor never ends must not hang a listing.
MAX_LIST_PAGES = 1000
_STDIO_KEYS = {"command", "args", "env", "cwd", "type", "transport"}
_HTTP_KEYS = {"url", "headers", "type", "transport"}

MessageHandler = Callable[[Any], Awaitable[None]]


def tools_from_mcp_config(data: Mapping[str, Any], *, source: str = "mcp"
                          ) -> tuple[list[Tool], dict[str, dict[str, Any]]]:
    """List the tools of every server in an ``mcpServers`` configuration.

    Args:
        data: the parsed configuration document.
        source: the source label given to every tool.

    Returns:
        The tools, server by server in each server's order, and the checked configuration of
        each server by name (to be stored once; tools only name their server).

    Raises:
        SourceError: the configuration is malformed, or a server cannot be started or listed
            (the message names the server and the real cause).
    """
    servers = data.get("mcpServers")
    if not isinstance(servers, Mapping) or not servers:
        raise SourceError("'mcpServers' must be an object mapping server names to "
                          "{\"command\", \"args\", \"env\"} or {\"url\"} entries")
    configs = {name: check_server_config(name, config) for name, config in servers.items()}
    # On the runner's own loop thread, so this also works when the caller runs an event loop.
    with BlockingRunner() as runner:
        listed = runner.call(_list_each, configs)
    tools = [tool for name in configs for tool in catalog_tools(name, listed[name], source=source)]
    return tools, configs


def check_server_config(server: str, config: Any) -> dict[str, Any]:
    """Check one server's entry and return a plain copy of it.

    Raises:
        SourceError: the name holds the namespace separator, or the entry is neither a stdio
            (``command``) nor an HTTP (``url``) entry of the right types.
    """
    if not isinstance(server, str) or not server or NAMESPACE_SEPARATOR in server:
        raise SourceError(f"MCP server name {server!r}: must be a non-empty string without "
                          f"{NAMESPACE_SEPARATOR!r} (it separates server and tool in tool names)"
                          "; rename the entry")
    if not isinstance(config, Mapping) or ("command" in config) == ("url" in config):
        raise SourceError(f"MCP server {server!r}: its entry needs either \"command\" (stdio) "
                          "or \"url\" (HTTP)")
    stdio = "command" in config
    unknown = set(config) - (_STDIO_KEYS if stdio else _HTTP_KEYS)
    if unknown:
        raise SourceError(f"MCP server {server!r}: unknown key(s) {sorted(unknown)} for a "
                          f"{'stdio' if stdio else 'HTTP'} entry")
    if stdio:
        _check_type(server, config, "command", str)
        _check_type(server, config, "cwd", str)
        if not all(isinstance(arg, str) for arg in _check_type(server, config, "args", list)):
            raise SourceError(f"MCP server {server!r}: \"args\" must be a list of strings")
        _check_string_map(server, config, "env")
    else:
        url = _check_type(server, config, "url", str)
        if urlsplit(url).scheme not in ("http", "https"):
            raise SourceError(f"MCP server {server!r}: \"url\" must be an http(s) URL, got "
                              f"{safe_url(url)!r}")
        _check_string_map(server, config, "headers")
    return _plain(config)


@contextlib.asynccontextmanager
async def connect(config: Mapping[str, Any], server: str, *, errlog: TextIO | None = None,
                  message_handler: MessageHandler | None = None) -> AsyncIterator[Client]:
    """An open `mcp.Client` for one server's (checked) configuration entry.

    Args:
        config: the server's entry (see `check_server_config`).
        server: its name, for messages.
        errlog: where a stdio server's stderr goes (a real file); ``None`` discards it.
        message_handler: receives the server's notifications and transport faults.

    Raises:
        Exception: whatever the SDK raises; `explain_connection_error` turns it into a sentence.
    """
    from mcp.client.stdio import stdio_client
    from mcp.client.streamable_http import streamable_http_client

    async with contextlib.AsyncExitStack() as stack:
        if "url" in config:
            import httpx2

            http = await stack.enter_async_context(httpx2.AsyncClient(
                headers=dict(config.get("headers") or {}),
                timeout=httpx2.Timeout(30.0, read=300.0)))
            transport: Any = streamable_http_client(config["url"], http_client=http)
        else:
            if errlog is None:
                errlog = stack.enter_context(open(os.devnull, "w"))  # noqa: SIM115
            parameters = StdioServerParameters(
                command=config["command"], args=list(config.get("args") or []),
                env=dict(config["env"]) if config.get("env") else None, cwd=config.get("cwd"))
            transport = stdio_client(parameters, errlog=errlog)
        # The response cache would serve a stale tool list after a list_changed.
        client = await stack.enter_async_context(
            Client(transport, message_handler=message_handler, cache=None))
        yield client


async def list_client_tools(client: Client) -> list[mcp_types.Tool]:
    """Every tool of an open client, following ``nextCursor`` page by page.

    Raises:
        MCPError: the server refused; SourceError: it never stops paginating.
    """
    listed: list[mcp_types.Tool] = []
    cursor: str | None = None
    for _ in range(MAX_LIST_PAGES):
        page = await client.list_tools(cursor=cursor)
        listed.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return listed
    raise SourceError(f"the tool list did not end after {MAX_LIST_PAGES} pages")


async def list_server_tools(name: str, config: Mapping[str, Any], *,
                            errlog: TextIO | None = None) -> list[mcp_types.Tool]:
    """Connect to one server, list all its tools and disconnect (stopping a stdio server).

    Raises:
        Exception: from the SDK, as `connect`.
    """
    async with connect(config, name, errlog=errlog) as client:
        return await list_client_tools(client)


def catalog_tools(server: str, listed: list[mcp_types.Tool], *, source: str) -> list[Tool]:
    """Catalog tools for one server's listing: ``server__tool`` names, secret-free bindings."""
    tools = []
    for entry in listed:
        schema = dict(entry.input_schema or {"type": "object", "properties": {}})
        schema.setdefault("type", "object")
        tools.append(Tool(name=f"{server}{NAMESPACE_SEPARATOR}{entry.name}",
                          description=entry.description or "", input_schema=schema,
                          output_schema=entry.output_schema, source=source, group=server,
                          binding={"kind": "mcp", "server": server, "tool": entry.name}))
    return tools


def explain_connection_error(server: str, config: Mapping[str, Any], error: BaseException,
                             *, connected: bool) -> str:
    """One sentence naming the server and the real cause of a connection failure.

    Exception groups from the SDK's task groups are unwrapped to their most telling member;
    secrets (``env``, ``headers``, URL credentials) are never quoted.

    Args:
        server: the server's name.
        config: its entry (for the command or URL).
        error: what was raised.
        connected: the session had completed its handshake before the failure.
    """
    cause = _root_cause(error)
    where = (f"command {config['command']!r}" if "command" in config
             else f"{safe_url(config['url'])}")
    prefix = f"MCP server {server!r}"
    if isinstance(cause, MCPError) and cause.code == mcp_types.CONNECTION_CLOSED:
        if "command" in config:
            when = "during the call" if connected else "before completing the MCP handshake"
            return f"{prefix}: {where} exited (closed its stdout) {when}"
        return f"{prefix}: the connection to {where} was closed"
    if isinstance(cause, FileNotFoundError) and "command" in config:
        if config.get("cwd") and not Path(config["cwd"]).is_dir():
            return f"{prefix}: working directory not found: {config['cwd']!r}"
        return f"{prefix}: command not found: {config['command']!r}"
    if isinstance(cause, PermissionError) and "command" in config:
        return f"{prefix}: {where} is not executable (permission denied)"
    if "url" in config and (type(cause).__module__.startswith("httpx")
                            or isinstance(cause, OSError)):
        status = getattr(getattr(cause, "response", None), "status_code", None)
        if status is not None:
            return f"{prefix}: {where} answered HTTP {status}"
        os_error = _os_error(cause)
        if os_error is not None and os_error.errno == errno.ECONNREFUSED:
            return f"{prefix}: connection refused at {where}"
        reason = os_error.strerror if os_error is not None and os_error.strerror else cause
        return f"{prefix}: cannot reach {where}: {reason}"
    if isinstance(cause, TimeoutError):
        return f"{prefix}: {where} did not answer in time"
    if isinstance(cause, MCPError):
        return f"{prefix}: protocol error {cause.code}: {cause.message}"
    if isinstance(cause, SourceError):
        return f"{prefix}: {cause}"
    return f"{prefix}: {where} failed: {type(cause).__name__}: {cause}"


def safe_url(url: str) -> str:
    """The URL without credentials, query or fragment (which may hold tokens)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


async def _list_each(configs: Mapping[str, dict[str, Any]]) -> dict[str, list[mcp_types.Tool]]:
    return {name: await _list_or_explain(name, config) for name, config in configs.items()}


async def _list_or_explain(name: str, config: dict[str, Any]) -> list[mcp_types.Tool]:
    try:
        with anyio.fail_after(LIST_TIMEOUT_SECONDS):
            return await list_server_tools(name, config)
    except TimeoutError:
        raise SourceError(f"MCP server {name!r}: listing its tools took longer than "
                          f"{LIST_TIMEOUT_SECONDS:g} s") from None
    except Exception as error:  # spawn, transport or protocol failures of a third-party server
        message = explain_connection_error(name, config, error, connected=False)
        raise SourceError(f"{message}; cannot list its tools") from None


def _root_cause(error: BaseException) -> BaseException:
    """The most telling exception inside (nested) exception groups."""
    if not isinstance(error, BaseExceptionGroup):
        return error
    leaves = [_root_cause(member) for member in error.exceptions]
    # Cancellations (BaseException, not Exception) are the echo of a failure, not its cause.
    leaves = [leaf for leaf in leaves if isinstance(leaf, Exception)] or leaves
    # A transport's own failure explains a "connection closed" seen by the session.
    closed = [leaf for leaf in leaves if isinstance(leaf, MCPError)
              and leaf.code == mcp_types.CONNECTION_CLOSED]
    return next((leaf for leaf in leaves if leaf not in closed), leaves[0])


def _os_error(error: BaseException) -> OSError | None:
    """The OS error behind an HTTP client error, preferring one with an errno."""
    found: list[OSError] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            found.append(current)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return next((item for item in found if item.errno is not None), found[0] if found else None)


def _check_type(server: str, config: Mapping[str, Any], key: str, kind: type) -> Any:
    value = config.get(key)
    if value is not None and not isinstance(value, kind):
        raise SourceError(f"MCP server {server!r}: {key!r} must be a {kind.__name__}, got "
                          f"{type(value).__name__}")
    return value if value is not None else kind()


def _check_string_map(server: str, config: Mapping[str, Any], key: str) -> None:
    value = _check_type(server, config, key, dict)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        # Never quote the values: they are secrets.
        raise SourceError(f"MCP server {server!r}: {key!r} must map names to string values")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
