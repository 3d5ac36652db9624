"""Provisional `GatewayBackend` over today's pieces: Catalog, Router, validate-free Executor.

The catalog (SQLite), index and router are used from worker threads one at a time (a capacity
limiter of 1); tool calls run in worker threads of their own, so a slow tool never blocks a
search. The runtime (`toolnav.runtime.Toolnav`) replaces this module: the server only sees
`toolnav.server.backend.GatewayBackend`.

Example:
    backend = CatalogBackend(Catalog.open(".toolnav"))
    hits = await backend.search("multiply two numbers", 5)
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Set
from typing import Any

import anyio
import anyio.to_thread

from toolnav.catalog import Catalog
from toolnav.config import RouteParams
from toolnav.errors import EmptyCatalog, ToolNotFound
from toolnav.execute import Executor, ToolResult
from toolnav.route import Candidate, Router, ToolFilter
from toolnav.server.backend import DownstreamState, namespace_of
from toolnav.tool import Tool

__all__ = ["CatalogBackend"]

MAX_CONCURRENT_CALLS = 32


class CatalogBackend:
    """`GatewayBackend` over a `Catalog`, a `Router` rebuilt when the catalog changes, and a
    synchronous `Executor` run in worker threads.

    Args:
        catalog: the opened catalog (the backend closes it in `aclose`).
        route_params: ranking parameters.
        executor: runs calls (default: a new `Executor`).
    """

    def __init__(self, catalog: Catalog, *, route_params: RouteParams | None = None,
                 executor: Executor | None = None) -> None:
        self._catalog = catalog
        self._params = route_params
        self._executor = executor or Executor()
        self._router: Router | None = None
        self._router_version: str | None = None
        self._catalog_lock = anyio.CapacityLimiter(1)
        self._call_limiter = anyio.CapacityLimiter(MAX_CONCURRENT_CALLS)
        self._state_lock = threading.Lock()
        self._called: dict[str, tuple[str, str]] = {}  # server -> (state, detail)
        # Server -> (config, tool count), re-read after every catalog change this backend
        # makes: states() is called from any thread and must not touch the SQLite connection
        # while a worker thread writes through it.
        self._servers = self._mcp_servers()
        self._configs = {server: config for server, (config, _) in self._servers.items()}
        self._source_of = {namespace_of(tool): tool.source for tool in catalog.tools()
                           if (tool.binding or {}).get("kind") == "mcp"}

    async def search(self, query: str, k: int, *, namespaces: Set[str] | None = None,
                     tags: Set[str] | None = None, allowed_namespaces: Set[str] | None = None
                     ) -> list[Candidate]:
        return await self._in_catalog_thread(self._search, query, k, namespaces, tags,
                                             allowed_namespaces)

    async def get_tool(self, name: str) -> Tool:
        return await self._in_catalog_thread(self._catalog.get, name)

    async def list_tools(self) -> list[Tool]:
        return await self._in_catalog_thread(self._catalog.tools)

    async def call(self, name: str, arguments: Mapping[str, Any]) -> ToolResult:
        tool = await self.get_tool(name)
        result = await anyio.to_thread.run_sync(self._executor.execute, tool, dict(arguments),
                                                limiter=self._call_limiter)
        binding = tool.binding or {}
        if binding.get("kind") == "mcp":
            # Today's executor reports a dead or unreachable server as an error result whose
            # message does not come from the tool itself.
            broken = result.is_error and not result.content.startswith("MCP tool ")
            with self._state_lock:
                self._called[str(binding["server"])] = (
                    ("failed", result.content[:200]) if broken else ("connected", ""))
        return result

    def states(self) -> list[DownstreamState]:
        counts = {server: count for server, (_, count) in self._servers.items()}
        with self._state_lock:
            called = dict(self._called)
        states = []
        for name in sorted(self._configs):  # a server whose tools all went is still synced
            state, detail = called.get(name, ("idle", ""))
            states.append(DownstreamState(name, state, tools=counts.get(name, 0),
                                          detail=detail))
        return states

    async def refresh_server(self, server: str) -> bool:
        return await self._in_catalog_thread(self._refresh_server, server)

    async def aclose(self) -> None:
        """Stop downstream sessions and close the catalog."""
        await anyio.to_thread.run_sync(self._executor.close)
        self._catalog.close()

    async def _in_catalog_thread(self, func: Any, *args: Any) -> Any:
        return await anyio.to_thread.run_sync(func, *args, limiter=self._catalog_lock)

    def _current_router(self) -> Router:
        version = self._catalog.version
        if self._router is None or self._router_version != version:
            if len(self._catalog) == 0:
                raise EmptyCatalog("the catalog is empty; add tools with `toolnav add SOURCE` "
                                   "before serving")
            self._catalog.build_index()
            self._router = Router.open(self._catalog, self._params)
            self._router_version = version
        return self._router

    def _search(self, query: str, k: int, namespaces: Set[str] | None,
                tags: Set[str] | None, allowed: Set[str] | None) -> list[Candidate]:
        router = self._current_router()
        wanted = None if namespaces is None else set(namespaces)
        if allowed is not None:
            wanted = set(allowed) if wanted is None else wanted & set(allowed)
        names: frozenset[str] = frozenset()
        if wanted is not None:
            names = frozenset(tool.name for tool in self._catalog.tools()
                              if namespace_of(tool) in wanted)
            if not names:  # an empty allow-list would mean "no restriction" to the router
                return []
        filters = ToolFilter(tags=frozenset(tags or ()), allow=names)
        return router.route(query, k=k, filters=filters).candidates

    def _mcp_servers(self) -> dict[str, tuple[dict[str, Any], int]]:
        """MCP server name -> (its config, as today's bindings carry it; tool count)."""
        servers: dict[str, tuple[dict[str, Any], int]] = {}
        for tool in self._catalog.tools():
            binding = tool.binding or {}
            if binding.get("kind") == "mcp":
                name = str(binding["server"])
                config, count = servers.get(name, (dict(binding.get("config") or {}), 0))
                servers[name] = (config, count + 1)
        return servers

    def _refresh_server(self, server: str) -> bool:
        from toolnav.catalog.sources.mcp import tools_from_mcp_config

        config = self._configs.get(server)
        if config is None:
            raise ToolNotFound(f"no downstream MCP server named {server!r} in the catalog")
        source = self._source_of[server]
        fresh = tools_from_mcp_config({"mcpServers": {server: config}}, source=source)
        others = [tool for tool in self._catalog.tools() if tool.source == source
                  and namespace_of(tool) != server]
        change = self._catalog.add_tools([*others, *fresh], source=source)
        changed = bool(change.added or change.updated or change.removed)
        self._servers = self._mcp_servers()
        if changed and len(self._catalog):
            self._current_router()  # re-index now, so the next search does not wait
        return changed
