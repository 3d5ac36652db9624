"""The `GatewayBackend` over the toolnav runtime: its catalog, current router and an executor.

Searches run in child processes when asked for (`toolnav.server.search_processes`: beside the
event loop rather than under its GIL), else, like catalog reads, in worker threads (the router
is CPU work; the store keeps a connection per thread), at most `Settings.threads` at a time so
a burst of searches cannot starve the event loop; only `find_tool`, one indexed lookup the
SDK asks for synchronously, reads in the calling thread. Tool calls are awaited on the async
executor, whose MCP pool keeps one session per downstream server. A downstream that announces
a change is re-listed over its live session and its tools replace the old ones in one store
transaction; each router (in this process or a search process) notices the store's new
version and updates its index in place.

Example:
    async with RuntimeBackend(toolnav) as backend:
        hits = await backend.search("multiply two numbers", 5)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Set
from typing import Any

import anyio
import anyio.to_thread

from toolnav.catalog.sources.mcp import catalog_tools
from toolnav.config import RouteParams
from toolnav.downstream.mcp import ToolsChangedHook
from toolnav.errors import SourceError, ToolnavError
from toolnav.execute import Executor, ToolResult
from toolnav.route import Candidate, ToolFilter
from toolnav.runtime import Toolnav
from toolnav.server.backend import DownstreamState, SearchState
from toolnav.server.search_processes import SearchProcesses, SearchUnavailable
from toolnav.tool import Tool

__all__ = ["RuntimeBackend"]

# The pool's words for a session, in the gateway's (readiness and metrics) words.
_STATE_NAMES = {"ready": "connected", "idle": "idle", "connecting": "connecting",
                "backoff": "failed"}


class RuntimeBackend:
    """`GatewayBackend` over a `Toolnav` runtime; an async context manager that opens and
    closes its executor.

    Args:
        toolnav: the runtime (the backend does not close it).
        route_params: ranking parameters (default: the runtime's settings).
        on_tools_changed: awaited with a server's name when it announces a new tool list.
        call_timeout_seconds: limit per tool call (default: the executor's).
        search_processes: child processes that run the searches (0: worker threads). They
            open the runtime's home afresh, so the runtime must be the home's own
            (`Toolnav.open`, no embedder or embedding cache of its own).
    """

    def __init__(self, toolnav: Toolnav, *, route_params: RouteParams | None = None,
                 on_tools_changed: ToolsChangedHook | None = None,
                 call_timeout_seconds: float | None = None, search_processes: int = 0
                 ) -> None:
        self._toolnav = toolnav
        self._params = route_params or toolnav.settings.route
        self._executor = toolnav.executor(timeout_seconds=call_timeout_seconds,
                                          on_tools_changed=on_tools_changed)
        self._limiter = anyio.CapacityLimiter(toolnav.settings.threads)
        self._counts: tuple[int, Counter[str]] = (-1, Counter())
        self._searchers = (SearchProcesses(toolnav.settings, self._params, search_processes)
                           if search_processes else None)
        self._fallbacks = 0  # searches answered here because no search process could

    async def __aenter__(self) -> RuntimeBackend:
        if self._searchers is not None:
            await self._searchers.__aenter__()
        try:
            await self._executor.__aenter__()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def search_processes(self) -> SearchProcesses | None:
        """The child processes searches run in (None: worker threads)."""
        return self._searchers

    @property
    def executor(self) -> Executor:
        """The executor calls go through (the server's agents share its downstream sessions)."""
        return self._executor

    async def aclose(self) -> None:
        """Close every downstream session (stopping stdio servers) and the search processes."""
        try:
            await self._executor.aclose()
        finally:
            if self._searchers is not None:
                await self._searchers.aclose()

    async def search(self, query: str, k: int, *, namespaces: Set[str] | None = None,
                     tags: Set[str] | None = None, allowed_namespaces: Set[str] | None = None
                     ) -> list[Candidate]:
        filters = _search_filter(namespaces, tags, allowed_namespaces)
        if filters is None:  # nothing may be proposed
            return []
        if self._searchers is not None:
            try:
                return await self._searchers.search(query, k, filters)
            except SearchUnavailable:  # a child died or its replacement is loading:
                self._fallbacks += 1     # this process searches meanwhile
        return await self._in_thread(self._search, query, k, filters)

    async def get_tool(self, name: str) -> Tool:
        return await self._in_thread(self._toolnav.catalog.get, name)

    def find_tool(self, name: str) -> Tool | None:
        entry = self._toolnav.catalog.store.get(name)  # no "did you mean" scan of the catalog
        return None if entry is None else entry.tool

    async def list_tools(self) -> list[Tool]:
        return await self._in_thread(self._toolnav.catalog.tools)

    async def call(self, name: str, arguments: Mapping[str, Any], *,
                   responses: Mapping[str, Any] | None = None, state: str | None = None,
                   capabilities: Collection[str] | None = None,
                   may_become_task: bool = False) -> ToolResult:
        tool = await self.get_tool(name)
        return await self._executor.execute(tool, dict(arguments), responses=responses,
                                            state=state, capabilities=capabilities,
                                            may_become_task=may_become_task)

    def search_state(self) -> SearchState:
        searchers = self._searchers
        if searchers is None:
            return SearchState()
        return SearchState(searchers.processes, len(searchers.pids), searchers.restarts,
                           self._fallbacks)

    def states(self) -> list[DownstreamState]:
        sessions = self._executor.downstream_states()
        servers = self._toolnav.catalog.store.server_names()
        # No MCP server, nothing to count (counting parses every tool record: 1.3 s at 10k).
        counts = self._tools_per_server() if servers else Counter()
        states = []
        for name in sorted(servers):
            session = sessions.get(name, {})
            states.append(DownstreamState(
                name, _STATE_NAMES.get(str(session.get("state", "idle")), "idle"),
                reconnects=int(session.get("reconnects", 0)), tools=counts.get(name, 0),
                detail=str(session.get("last_error") or "")))
        return states

    async def refresh_server(self, server: str) -> bool:
        try:
            listed = await self._executor.pool.list_tools(server)
        except ToolnavError as error:
            raise SourceError(f"MCP server {server!r} could not be listed: {error}") from None
        source = self._toolnav.catalog.store.server_names().get(server)
        if source is None:
            raise SourceError(f"no MCP server named {server!r} is configured")
        tools = catalog_tools(server, listed, source=source)
        change = await self._in_thread(self._toolnav.catalog.replace_server_tools, server,
                                       tools)
        changed = bool(change.added or change.updated or change.removed)
        if changed:  # bring the index in step now, so the next search does not wait
            await self._in_thread(self._toolnav.router, self._params)
        return changed

    def _tools_per_server(self) -> Counter[str]:
        """MCP tools per server, counted again only when the catalog changed (readiness and
        metrics ask on every scrape)."""
        version = self._toolnav.catalog.version
        if self._counts[0] != version:
            self._counts = (version, Counter(
                tool.namespace for tool in self._toolnav.catalog.tools()
                if (tool.binding or {}).get("kind") == "mcp"))
        return self._counts[1]

    async def _in_thread(self, func: Any, *args: Any) -> Any:
        return await anyio.to_thread.run_sync(func, *args, limiter=self._limiter)

    def _search(self, query: str, k: int, filters: ToolFilter) -> list[Candidate]:
        router = self._toolnav.router(self._params)  # raises EmptyCatalog on an empty one
        return router.route(query, k=k, filters=filters).candidates


def _search_filter(namespaces: Set[str] | None, tags: Set[str] | None,
                   allowed: Set[str] | None) -> ToolFilter | None:
    """The filter of a search restricted to *namespaces* and *tags* by a caller whose token
    admits *allowed* namespaces (None: all); None when no namespace is left."""
    wanted = None if namespaces is None else set(namespaces)
    if allowed is not None:
        wanted = set(allowed) if wanted is None else wanted & set(allowed)
    if wanted is not None and not wanted:  # an empty set would mean "no restriction"
        return None
    return ToolFilter(namespaces=frozenset(wanted or ()), tags=frozenset(tags or ()))
