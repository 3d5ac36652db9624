"""What the MCP gateway needs from the rest of toolnav: the `GatewayBackend` protocol.

The server (`toolnav.server.gateway`) searches, looks up and calls tools only through this
protocol, so the runtime behind it can change without touching the server: today
`toolnav.server.runtime_backend.RuntimeBackend` adapts the runtime (catalog, router, executor).

Example:
    hits = await backend.search("multiply two numbers", 5, allowed_namespaces={"calc"})
    result = await backend.call(hits[0].tool.name, {"a": 2, "b": 3})
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Set
from dataclasses import dataclass
from typing import Any, Protocol

from toolnav.execute import ToolResult
from toolnav.route import Candidate
from toolnav.tool import Tool

__all__ = ["DOWNSTREAM_STATES", "DownstreamState", "GatewayBackend", "SearchState"]

# connected: a live session; idle: configured, not started yet (sessions start on first use);
# connecting: (re)starting; failed: the last start or call failed at the transport level.
DOWNSTREAM_STATES = ("connected", "idle", "connecting", "failed")


@dataclass(frozen=True)
class DownstreamState:
    """One downstream server as readiness and metrics report it.

    Attributes:
        name: the server name (the namespace of its tools).
        state: one of `DOWNSTREAM_STATES`.
        reconnects: how many times its session was re-established after a failure.
        tools: how many of its tools the catalog holds.
        detail: the last error, without secrets ("" when healthy).
    """

    name: str
    state: str
    reconnects: int = 0
    tools: int = 0
    detail: str = ""


@dataclass(frozen=True)
class SearchState:
    """Where the gateway's searches run, as readiness and metrics report it.

    Attributes:
        processes: search processes configured (0: searches run on worker threads).
        running: of those, how many answer now (the others died and are restarting).
        restarts: search processes started again after one died.
        fallbacks: searches the server process answered itself because no search process
            could (one had died, or its replacement was still loading).
    """

    processes: int = 0
    running: int = 0
    restarts: int = 0
    fallbacks: int = 0


class GatewayBackend(Protocol):
    """The catalog, router and executor as the gateway uses them (all lookups are current:
    a tool changed downstream is never served with its old schema)."""

    async def search(self, query: str, k: int, *, namespaces: Set[str] | None = None,
                     tags: Set[str] | None = None, allowed_namespaces: Set[str] | None = None
                     ) -> list[Candidate]:
        """Rank tools for *query*; only tools in *namespaces* ∩ *allowed_namespaces* (None: no
        restriction) that carry one of *tags* (None: any).

        Raises:
            EmptyCatalog: there is nothing to search.
            ConfigError: k out of range.
        """
        ...

    async def get_tool(self, name: str) -> Tool:
        """The current record of a tool.

        Raises:
            ToolNotFound: no such tool (the message suggests close names).
        """
        ...

    def find_tool(self, name: str) -> Tool | None:
        """The current record of a tool, read in the calling thread (for the MCP SDK's
        synchronous ``Mcp-Param`` header check, one indexed lookup); None if there is none."""
        ...

    async def list_tools(self) -> list[Tool]:
        """Every tool, in a stable order."""
        ...

    async def call(self, name: str, arguments: Mapping[str, Any], *,
                   responses: Mapping[str, Any] | None = None, state: str | None = None,
                   capabilities: Collection[str] | None = None,
                   may_become_task: bool = False) -> ToolResult:
        """Run a tool with validated arguments; failures come back as ``is_error`` results,
        and a tool that asks the client for input as one with ``input_requests``. *responses*,
        *state*, *capabilities* and *may_become_task*: as for `toolnav.execute.Executor.
        execute`.

        Raises:
            ToolNotFound: no such tool.
        """
        ...

    def states(self) -> list[DownstreamState]:
        """Every downstream server's state, by name."""
        ...

    def search_state(self) -> SearchState:
        """Where searches run and how that has gone."""
        ...

    async def refresh_server(self, server: str) -> bool:
        """Re-list one downstream server and bring the catalog and index in step with it.

        Returns:
            Whether any of its tools was added, changed or removed.

        Raises:
            SourceError: the server could not be listed (the catalog is unchanged).
        """
        ...
