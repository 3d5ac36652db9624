"""The MCP gateway: tools/list and tools/call handlers over a `GatewayBackend`.

Exposes `search_tools`, `call_tool` and `get_tool_schema` (and, with ``expose="all"``, every
catalog tool directly, paginated with an opaque cursor). Every call of a catalog tool is
validated against the tool's current schema before it is forwarded; a validation failure is an
``isError`` result carrying the validator's message (SEP-1303), so the model can repair the
call. Callers holding a scoped token never see or reach tools outside their namespaces.
Transports (stdio, Streamable HTTP) are `toolnav.server.transports`' and `toolnav.server.http`'s.

Example:
    gateway = Gateway(backend, expose="all")
    server = gateway.mcp_server()          # an mcp.server.Server, ready for any transport
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
from collections.abc import Mapping
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.caching import CacheHint
from mcp.shared.exceptions import MCPError

from toolnav.errors import ConfigError, EmptyCatalog, ToolnavError, ToolNotFound, ValidationFailed
from toolnav.server.auth import caller_name, namespaces_in_scope, namespaces_of_current_request
from toolnav.server.backend import GatewayBackend
from toolnav.server.logs import note_call
from toolnav.server.meta_tools import (
    CALL_TOOL,
    DEFAULT_SEARCH_K,
    GET_TOOL_SCHEMA,
    META_TOOLS,
    SEARCH_OUTPUT_SCHEMA,
    SEARCH_TOOLS,
    search_arguments,
)
from toolnav.server.metrics import GatewayMetrics
from toolnav.server.mrtr import call_inputs, mrtr_result, state_boundary
from toolnav.server.results import error_result, structured_result, tool_result
from toolnav.server.task_tools import TASK_TOOLS, TaskTools, task_support
from toolnav.tool import Tool
from toolnav.validate import validate_arguments

__all__ = ["DEFAULT_PAGE_SIZE", "EXPOSE_MODES", "Gateway"]

EXPOSE_MODES = ("search", "all")
DEFAULT_PAGE_SIZE = 100
SERVER_NAME = "toolnav"
INSTRUCTIONS = (
    "This server gives access to many tools through search. Call search_tools with what you "
    "want done; it returns the best-fitting tools with their input schemas. Then call "
    "call_tool with the chosen tool's name and arguments.")
# MCP tool names: 1-128 characters of [A-Za-z0-9_.-]; others stay reachable via call_tool.
_MCP_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")

logger = logging.getLogger("toolnav.server")


class Gateway:
    """Serves a backend's tools over MCP (see the module docstring).

    Args:
        backend: searches, looks up and runs tools.
        expose: ``"search"`` (the three meta tools) or ``"all"`` (also every catalog tool).
        page_size: tools per tools/list page.
        metrics: where to count requests (default: a new `GatewayMetrics`).
        version: reported as the server version.
        tasks: the task tools and the MCP Tasks extension (`toolnav.server.task_tools`);
            None: the server runs no tasks.

    Raises:
        ConfigError: unknown expose mode or page size below 1.
    """

    def __init__(self, backend: GatewayBackend, *, expose: str = "search",
                 page_size: int = DEFAULT_PAGE_SIZE, metrics: GatewayMetrics | None = None,
                 version: str = "", tasks: TaskTools | None = None) -> None:
        if expose not in EXPOSE_MODES:
            raise ConfigError(f"--expose {expose!r}: choose one of {', '.join(EXPOSE_MODES)}")
        if page_size < 1:
            raise ConfigError(f"page size must be at least 1, got {page_size}")
        self.backend = backend
        self.expose_all = expose == "all"
        self.page_size = page_size
        self.metrics = metrics or GatewayMetrics(backend)
        self._version = version
        self.tasks = tasks
        self._server: Server | None = None

    def mcp_server(self) -> Server:
        """The low-level MCP server with this gateway's handlers (built once)."""
        if self._server is None:
            self._server = Server(
                SERVER_NAME, version=self._version, instructions=INSTRUCTIONS,
                # The list depends on the caller's token and changes with the catalog.
                cache_hints={"tools/list": CacheHint(ttl_ms=0, scope="private")},
                get_tool_input_schema=self._input_schema,
                on_list_tools=self._list_tools, on_call_tool=self._call_tool)
            self._server.middleware.append(state_boundary(SERVER_NAME))
            if self.tasks is not None:
                self.tasks.install(self._server)
        return self._server

    def _input_schema(self, name: str) -> dict[str, Any] | None:
        """The input schema of a catalog tool tools/list shows this caller, for the SDK's
        ``Mcp-Param`` header check on 2026-07-28 HTTP calls; None when there is nothing to
        check: a tool not listed to the caller, or one of the gateway's own tools, none of
        which takes an ``x-mcp-header`` parameter. Without it the SDK runs tools/list,
        through every middleware and page by page, on each tools/call to find the schema: a
        third of the gateway's own work per search, and a re-listing of the whole catalog
        per page with ``expose="all"``."""
        if name in META_TOOLS or (self.tasks is not None and name in TASK_TOOLS) \
                or not self.expose_all or not _MCP_NAME.match(name):
            return None
        tool = self.backend.find_tool(name)
        allowed = namespaces_of_current_request()
        if tool is None or (allowed is not None and tool.namespace not in allowed):
            return None
        return dict(tool.input_schema)

    async def _list_tools(self, ctx: ServerRequestContext, params: types.PaginatedRequestParams
                          | None) -> types.ListToolsResult:
        exposed = {tool.name: _meta_tool(tool) for tool in META_TOOLS.values()}
        if self.tasks is not None:
            exposed.update({tool.name: tool for tool in self.tasks.tools()})
        if self.expose_all:
            allowed = namespaces_in_scope(ctx)
            for tool in await self.backend.list_tools():
                if (tool.name not in exposed and _MCP_NAME.match(tool.name)
                        and (allowed is None or tool.namespace in allowed)):
                    exposed[tool.name] = _direct_tool(tool)
        names = sorted(exposed)
        after = _decode_cursor(params.cursor if params else None)
        if after is not None:
            names = [name for name in names if name > after]
        page = names[:self.page_size]
        more = len(names) > len(page)
        return types.ListToolsResult(tools=[exposed[name] for name in page],
                                     next_cursor=_encode_cursor(page[-1]) if more else None)

    async def _call_tool(self, ctx: ServerRequestContext, params: types.CallToolRequestParams
                         ) -> types.CallToolResult | dict[str, Any]:
        name, arguments = params.name, params.arguments or {}
        started = time.perf_counter()
        label = name if name in META_TOOLS or name in TASK_TOOLS else "direct"
        try:
            if name == SEARCH_TOOLS.name:
                result, outcome = await self._search(ctx, arguments)
            elif name == CALL_TOOL.name:
                result, outcome = await self._call_meta(ctx, params)
            elif name == GET_TOOL_SCHEMA.name:
                result, outcome = await self._schema(ctx, arguments)
            elif self.tasks is not None and name in TASK_TOOLS:
                result, outcome = await self.tasks.call(ctx, name, arguments)
            elif self.expose_all:
                result, outcome = await self._forward(ctx, name, arguments, direct=True,
                                                      inputs=call_inputs(ctx, params))
            else:
                raise MCPError(types.INVALID_PARAMS, f"unknown tool {name!r}: this gateway "
                               "exposes search_tools, call_tool and get_tool_schema")
        except MCPError:
            self.metrics.requests.labels(tool=label, outcome="not_found").inc()
            raise
        except ValidationFailed as error:  # the meta tool's own arguments
            result, outcome = error_result(str(error), "invalid_arguments", issues=error.issues), \
                "invalid_arguments"
        except ToolNotFound as error:
            result, outcome = error_result(str(error), "not_found"), "not_found"
        except ToolnavError as error:
            result, outcome = error_result(str(error), type(error).__name__), "tool_error"
        except Exception:  # never a crash, never a traceback to the client
            logger.exception("internal error answering %s", name)
            result = error_result(f"internal error in the gateway while answering {name!r}; "
                                  "the server log has the details", "internal_error")
            outcome = "internal_error"
        seconds = time.perf_counter() - started
        self.metrics.requests.labels(tool=label, outcome=outcome).inc()
        self.metrics.request_seconds.labels(tool=label).observe(seconds)
        fields = {"tool": name, "outcome": outcome, "caller": caller_name(ctx)}
        if not note_call(ctx.request, {**fields, "call_seconds": round(seconds, 4)}):
            logger.info("tool call", extra={"event": "call", **fields,
                                            "seconds": round(seconds, 4)})
        return result

    async def _search(self, ctx: ServerRequestContext, arguments: Mapping[str, Any]
                      ) -> tuple[dict[str, Any], str]:
        valid = search_arguments(arguments)
        namespaces, tags = valid.get("namespaces"), valid.get("tags")
        try:
            hits = await self.backend.search(
                valid["query"], int(valid.get("k", DEFAULT_SEARCH_K)),
                namespaces=set(namespaces) if namespaces else None,
                tags=set(tags) if tags else None, allowed_namespaces=namespaces_in_scope(ctx))
        except EmptyCatalog:
            hits = []
        found = [{**_describe(hit.tool), "score": round(hit.score, 4)} for hit in hits]
        self.metrics.search_results.inc(len(found))
        return structured_result({"tools": found}), "ok"

    async def _call_meta(self, ctx: ServerRequestContext, params: types.CallToolRequestParams
                         ) -> tuple[types.CallToolResult | dict[str, Any], str]:
        valid = validate_arguments(CALL_TOOL, params.arguments or {})
        return await self._forward(ctx, valid["name"], valid.get("arguments") or {},
                                   direct=False, inputs=call_inputs(ctx, params))

    async def _schema(self, ctx: ServerRequestContext, arguments: Mapping[str, Any]
                      ) -> tuple[types.CallToolResult | dict[str, Any], str]:
        valid = validate_arguments(GET_TOOL_SCHEMA, arguments)
        tool = await self.backend.get_tool(valid["name"])
        refused = _out_of_scope(ctx, tool)
        if refused:
            return refused, "insufficient_scope"
        described = _describe(tool)
        if tool.output_schema is not None:
            described["outputSchema"] = dict(tool.output_schema)
        return structured_result(described), "ok"

    async def _forward(self, ctx: ServerRequestContext, name: str, arguments: Any, *,
                       direct: bool, inputs: Mapping[str, Any]
                       ) -> tuple[types.CallToolResult | dict[str, Any], str]:
        """Look the tool up (its current record), check scope, validate, then run it (as a
        task for a task-capable tool and a client that declared the Tasks extension, after
        gathering its input for a ``task:input-first`` one); a tool that asks the client for
        input answers an input-required result (`toolnav.server.mrtr`), *inputs* being the
        client's answers when it calls again."""
        try:
            tool = await self.backend.get_tool(name)
        except ToolNotFound:
            if direct:  # a name tools/list never offered: a protocol error, as for any server
                raise MCPError(types.INVALID_PARAMS, f"unknown tool {name!r}") from None
            raise
        refused = _out_of_scope(ctx, tool)
        if refused:
            return refused, "insufficient_scope"
        try:
            valid = validate_arguments(tool, arguments)
        except ValidationFailed as error:
            return error_result(str(error), "invalid_arguments", issues=error.issues), \
                "invalid_arguments"
        if self.tasks is not None:
            created = await self.tasks.start_tool_task(ctx, tool, valid)
            if created is not None:
                return created, "task"
        namespace = tool.namespace
        started = time.perf_counter()
        first = self.tasks is not None and self.tasks.input_first(ctx, tool)
        result = await self.backend.call(tool.name, valid, **inputs, may_become_task=first)
        self.metrics.downstream_seconds.labels(downstream=namespace).observe(
            time.perf_counter() - started)
        if result.becomes_task and self.tasks is not None:  # it has its input: now a task
            return await self.tasks.start_tool_task(ctx, tool, valid, gathered=inputs), "task"
        asked = mrtr_result(ctx, result)
        outcome = "input_required" if asked else "tool_error" if result.is_error else "ok"
        self.metrics.downstream_calls.labels(downstream=namespace, outcome=outcome).inc()
        return asked or tool_result(result), outcome


def _meta_tool(tool: Tool) -> types.Tool:
    return types.Tool(name=tool.name, description=tool.description,
                      input_schema=dict(tool.input_schema),
                      output_schema=SEARCH_OUTPUT_SCHEMA if tool is SEARCH_TOOLS else None)


def _direct_tool(tool: Tool) -> types.Tool:
    # No outputSchema: results pass through as the downstream produced them, and a declared
    # schema would oblige every structured result to match it.
    support = task_support(tool)
    return types.Tool(name=tool.name, description=tool.description,
                      input_schema=dict(tool.input_schema),
                      execution=types.ToolExecution(task_support=support) if support else None)


def _describe(tool: Tool) -> dict[str, Any]:
    return {"name": tool.name, "namespace": tool.namespace,
            "description": tool.description, "inputSchema": dict(tool.input_schema)}


def _out_of_scope(ctx: ServerRequestContext, tool: Tool) -> types.CallToolResult | None:
    allowed = namespaces_in_scope(ctx)
    namespace = tool.namespace
    if allowed is None or namespace in allowed:
        return None
    return error_result(f"insufficient_scope: this token may not use tools of namespace "
                  f"{namespace!r} (it may use: {', '.join(sorted(allowed))})",
                  "insufficient_scope")


def _encode_cursor(after: str) -> str:
    raw = json.dumps({"after": after}, ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
        if isinstance(after, str):
            return after
    except (binascii.Error, ValueError, KeyError, TypeError):
        pass
    raise MCPError(types.INVALID_PARAMS, "invalid cursor: pass back the nextCursor of the "
                   "previous tools/list page unchanged")
