"""Long-lived MCP client sessions, one per downstream server name, shared by concurrent calls.

`MCPPool` connects to a server on its first call (stdio or Streamable HTTP, from the config that
``server_config(name)`` returns) and keeps the session: calls on one session run concurrently;
each call has a timeout that cancels it (the SDK tells the server with
``notifications/cancelled``, and nothing is queued, so a timed-out call never runs later). A
session that breaks is closed (a stdio server and its process group are stopped and reaped)
and reconnected on demand after an exponential backoff (0.5 s doubling to 30 s); while backing
off, calls fail at once with the cause. A changed config for a name means a new session.
``notifications/tools/list_changed`` calls the ``on_tools_changed`` hook with the server name.

Connections are opened and their failures explained by `toolnav.catalog.sources.mcp`; turning
results into `ToolResult` is `toolnav.execute`'s job.

Example:
    async with MCPPool(store.server_config, stderr_log=home / "downstream.log") as pool:
        result = await pool.call_tool("calc", "multiply", {"a": 6, "b": 7}, timeout=10)
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio
import anyio.abc
import mcp.types as mcp_types
from mcp import Client
from mcp.shared.exceptions import MCPError

from toolnav.catalog.sources.mcp import (
    connect,
    explain_connection_error,
    list_client_tools,
)
from toolnav.errors import ConfigError, ToolExecutionError

__all__ = ["BACKOFF_INITIAL_SECONDS", "BACKOFF_MAX_SECONDS", "CONNECT_TIMEOUT_SECONDS",
           "MCPPool", "ServerConfigLookup", "ToolsChangedHook"]

BACKOFF_INITIAL_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 60.0
# How long closing the pool waits for sessions to stop their servers before cancelling them
# (the SDK bounds each stop at about 6 s: stdin close, SIGTERM, SIGKILL).
_CLOSE_GRACE_SECONDS = 15.0

ServerConfigLookup = Callable[[str], Mapping[str, Any] | None]
ToolsChangedHook = Callable[[str], Awaitable[None]]


@dataclass(eq=False)
class _Session:
    """One connection attempt and, once it is ready, the session it holds."""

    stop: anyio.Event = field(default_factory=anyio.Event)
    settled: anyio.Event = field(default_factory=anyio.Event)  # ready, or failed
    finished: anyio.Event = field(default_factory=anyio.Event)  # closed, server reaped
    client: Client | None = None
    error: str | None = None
    fault: str | None = None  # the last transport fault, e.g. non-JSON-RPC output
    handshake: anyio.CancelScope | None = None

    def request_stop(self) -> None:
        """Ask the holding task to close the session, cutting a handshake short."""
        self.stop.set()
        if self.handshake is not None and self.client is None:
            self.handshake.cancel()


@dataclass(eq=False)
class _Server:
    """What the pool knows about one server name."""

    name: str
    config: dict[str, Any]
    session: _Session | None = None
    last_error: str | None = None
    reconnects: int = 0
    calls: int = 0
    failures: int = 0
    in_flight: int = 0
    delay: float = BACKOFF_INITIAL_SECONDS
    retry_at: float = 0.0


class MCPPool:
    """One long-lived MCP session per downstream server name.

    Args:
        server_config: returns a server's config (``command/args/env/cwd`` or
            ``url/headers``) by name, or None if there is no such server; asked on every call,
            so a changed config takes effect at once.
        on_tools_changed: awaited with the server name when a server announces that its tool
            list changed (errors it raises are recorded in `states`, never raised).
        stderr_log: file that stdio servers' stderr is appended to; None discards it.
        backoff_initial: seconds before the first reconnection after a failure (doubles).
        backoff_max: the longest wait between reconnections.
        connect_timeout: seconds a server gets to complete the MCP handshake.

    Use it as ``async with`` (entered and closed by the same task: the sessions live in its
    task group); `toolnav._blocking.BlockingRunner.wrap` does that for synchronous callers.

    Raises:
        ConfigError: a timing parameter is not positive.
    """

    def __init__(self, server_config: ServerConfigLookup, *,
                 on_tools_changed: ToolsChangedHook | None = None,
                 stderr_log: Path | None = None,
                 backoff_initial: float = BACKOFF_INITIAL_SECONDS,
                 backoff_max: float = BACKOFF_MAX_SECONDS,
                 connect_timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
        if min(backoff_initial, backoff_max, connect_timeout) <= 0:
            raise ConfigError("MCPPool: backoff and connect timeouts must be positive")
        self._server_config = server_config
        self._on_tools_changed = on_tools_changed
        self._stderr_log = stderr_log
        self._backoff = (backoff_initial, max(backoff_initial, backoff_max))
        self._connect_timeout = connect_timeout
        self._servers: dict[str, _Server] = {}
        self._task_group: anyio.abc.TaskGroup | None = None
        self._errlog: IO[str] | None = None

    async def __aenter__(self) -> MCPPool:
        if self._stderr_log is not None:
            self._stderr_log.parent.mkdir(parents=True, exist_ok=True)
            self._errlog = open(self._stderr_log, "a", encoding="utf-8")  # noqa: SIM115
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every session and stop (and reap) every stdio server, even when cancelled."""
        task_group, self._task_group = self._task_group, None
        if task_group is None:
            return
        with anyio.CancelScope(shield=True):
            sessions = [server.session for server in self._servers.values() if server.session]
            for session in sessions:
                session.request_stop()
            with anyio.move_on_after(_CLOSE_GRACE_SECONDS):
                for session in sessions:
                    await session.finished.wait()
        # Sessions still open are cancelled; the SDK's stdio shutdown is shielded, so their
        # servers are still stopped and reaped. The group's own scope is shielded (it must be
        # exited as the innermost scope) so a pending outer cancellation cannot cut that short.
        task_group.cancel_scope.cancel()
        task_group.cancel_scope.shield = True
        try:
            await task_group.__aexit__(None, None, None)
        finally:
            if self._errlog is not None:
                self._errlog.close()
                self._errlog = None

    async def call_tool(self, server: str, tool: str, arguments: Mapping[str, Any], *,
                        timeout: float) -> mcp_types.CallToolResult:
        """Call *tool* on *server*, connecting first if needed; cancelled after *timeout* s.

        Returns:
            The server's result (an ``is_error`` result is returned, not raised).

        Raises:
            ToolExecutionError: the server is unknown, down (backing off), could not be
                reached, broke during the call, refused the request, or the timeout expired;
                the message names the server and the cause.
        """
        entry = self._entry(server)
        entry.calls += 1
        entry.in_flight += 1
        session: _Session | None = None
        try:
            with anyio.move_on_after(timeout) as scope:
                session = await self._ready_session(entry)
                result = await self._request(entry, session, f"tool {tool!r}",
                                             lambda client: client.call_tool(tool,
                                                                             dict(arguments)))
            if scope.cancelled_caught:
                raise ToolExecutionError(self._timeout_message(entry, session, f"tool {tool!r}",
                                                               timeout))
        except ToolExecutionError as error:
            entry.failures += 1
            if not isinstance(error, _ServerDown):  # that one repeats the last error
                entry.last_error = str(error)
            raise
        finally:
            entry.in_flight -= 1
        entry.delay = self._backoff[0]  # a healthy answer ends the backoff sequence
        return result

    async def list_tools(self, server: str, *, timeout: float = CONNECT_TIMEOUT_SECONDS
                         ) -> list[mcp_types.Tool]:
        """Every tool *server* offers now (all pages), over its pooled session.

        Raises:
            ToolExecutionError: as `call_tool`.
        """
        entry = self._entry(server)
        session: _Session | None = None
        with anyio.move_on_after(timeout) as scope:
            session = await self._ready_session(entry)
            listed = await self._request(entry, session, "tools/list", list_client_tools)
        if scope.cancelled_caught:
            raise ToolExecutionError(self._timeout_message(entry, session, "tools/list",
                                                           timeout))
        return listed

    def states(self) -> dict[str, dict[str, Any]]:
        """Per server: ``state`` (idle, connecting, ready, backoff), ``last_error``,
        ``reconnects``, ``calls``, ``failures``, ``in_flight`` and ``retry_in`` seconds."""
        now = time.monotonic()
        report = {}
        for name, entry in self._servers.items():
            session = entry.session
            if session is not None and not session.settled.is_set():
                state = "connecting"
            elif session is not None and session.client is not None \
                    and not session.stop.is_set():
                state = "ready"
            elif entry.retry_at > now:
                state = "backoff"
            else:
                state = "idle"
            report[name] = {"state": state, "last_error": entry.last_error,
                            "reconnects": entry.reconnects, "calls": entry.calls,
                            "failures": entry.failures, "in_flight": entry.in_flight,
                            "retry_in": round(max(0.0, entry.retry_at - now), 3)}
        return report

    def _entry(self, server: str) -> _Server:
        if self._task_group is None:
            raise ToolExecutionError("the MCP pool is not open: use `async with` around it (or "
                                     "the Executor that owns it)")
        config = self._server_config(server)
        if config is None:
            raise ToolExecutionError(f"MCP server {server!r} is not configured; add the "
                                     "mcpServers source that defines it")
        config = dict(config)
        entry = self._servers.get(server)
        if entry is None:
            entry = self._servers[server] = _Server(server, config)
        elif entry.config != config:  # reconfigured: the old session is for the old server
            if entry.session is not None:
                entry.session.request_stop()
            entry.config, entry.session = config, None
            entry.delay, entry.retry_at = self._backoff[0], 0.0
        return entry

    async def _ready_session(self, entry: _Server) -> _Session:
        """The server's open session; connects (or fails fast while backing off)."""
        session = entry.session
        if session is not None and session.client is not None and _closed(session.client) \
                and not session.stop.is_set():
            # It died while idle: nobody's call broke, so reconnect now rather than fail one.
            self._close(entry, session, None)
            session = None
        if session is None or session.stop.is_set() or session.finished.is_set():
            wait = entry.retry_at - time.monotonic()
            if wait > 0:
                raise _ServerDown(f"MCP server {entry.name!r} is down, retrying in "
                                  f"{wait:.1f} s: {entry.last_error}")
            session = self._start(entry)
        await session.settled.wait()
        if session.client is None or session.stop.is_set():
            raise ToolExecutionError(session.error or f"MCP server {entry.name!r} was closed")
        return session

    def _start(self, entry: _Server) -> _Session:
        assert self._task_group is not None
        entry.reconnects += entry.session is not None
        session = entry.session = _Session()
        self._task_group.start_soon(self._hold, entry, session)
        return session

    async def _hold(self, entry: _Server, session: _Session) -> None:
        """Open the session, keep it until told to stop, close it (reaping the server)."""
        try:
            with anyio.CancelScope(deadline=anyio.current_time() + self._connect_timeout
                                   ) as handshake:
                session.handshake = handshake
                async with connect(entry.config, entry.name, errlog=self._errlog,
                                   message_handler=self._handler(entry, session)) as client:
                    handshake.deadline = math.inf
                    async with anyio.create_task_group() as watchers:
                        # Subscribed before the first call, so no change is missed.
                        await watchers.start(self._listen, entry, client)
                        session.client = client
                        session.settled.set()
                        await session.stop.wait()
                        watchers.cancel_scope.cancel()
            if handshake.cancelled_caught and not session.stop.is_set():
                self._fail(entry, session, f"MCP server {entry.name!r} did not complete the MCP "
                           f"handshake within {self._connect_timeout:g} s"
                           + _fault_note(session))
        except Exception as error:  # the SDK's spawn, transport or handshake failure
            cause = explain_connection_error(entry.name, entry.config, error,
                                             connected=session.client is not None)
            self._fail(entry, session, cause + _fault_note(session))
        finally:
            session.client = None
            session.settled.set()
            session.finished.set()

    async def _request(self, entry: _Server, session: _Session, what: str,
                       send: Callable[[Client], Awaitable[Any]]) -> Any:
        """Run one request on the session; a broken connection closes it and schedules a
        reconnection, other failures (a refusal, an unusable answer) leave it open."""
        client = session.client
        assert client is not None
        try:
            return await send(client)
        except Exception as error:  # the SDK's protocol, validation or transport failures
            broken = _closed(client) or (isinstance(error, MCPError)
                                         and error.code == mcp_types.CONNECTION_CLOSED)
            if not broken and isinstance(error, MCPError):
                raise ToolExecutionError(f"MCP server {entry.name!r} refused {what}: "
                                         f"{error.message} (code {error.code})") from None
            if not broken:
                raise ToolExecutionError(f"MCP server {entry.name!r}: {what} failed: "
                                         f"{type(error).__name__}: {error}") from None
            cause = explain_connection_error(entry.name, entry.config, error, connected=True)
        cause += _fault_note(session)
        self._close(entry, session, cause)
        raise ToolExecutionError(f"{cause} ({what} failed; reconnecting in "
                                 f"{max(0.0, entry.retry_at - time.monotonic()):.1f} s)")

    def _close(self, entry: _Server, session: _Session, cause: str | None) -> None:
        """Stop *session* (if still current); with a cause, back off before reconnecting."""
        if entry.session is not session or session.stop.is_set():
            return
        session.request_stop()
        if cause is not None:
            self._fail(entry, session, cause)

    def _fail(self, entry: _Server, session: _Session, cause: str) -> None:
        session.error = session.error or cause
        session.settled.set()
        if entry.session is not session:
            return  # an old session (reconfigured or closed) failing on its way out
        entry.last_error = cause
        if entry.retry_at <= time.monotonic():
            entry.retry_at = time.monotonic() + entry.delay
            entry.delay = min(entry.delay * 2, self._backoff[1])

    def _handler(self, entry: _Server, session: _Session
                 ) -> Callable[[Any], Awaitable[None]]:
        async def handle(message: Any) -> None:
            if isinstance(message, mcp_types.ToolListChangedNotification):
                if self._on_tools_changed is not None and self._task_group is not None:
                    self._task_group.start_soon(self._tools_changed, entry)
            elif isinstance(message, Exception):  # e.g. a stdout line that is not JSON-RPC
                session.fault = (f"it wrote non-JSON-RPC output on stdout: "
                                 f"{_describe_garbage(message)}" if "command" in entry.config
                                 else f"transport error: {type(message).__name__}: {message}")
        return handle

    async def _tools_changed(self, entry: _Server) -> None:
        assert self._on_tools_changed is not None
        try:
            await self._on_tools_changed(entry.name)
        except Exception as error:  # the hook's failure must not take the pool down
            entry.last_error = (f"on_tools_changed hook failed for MCP server {entry.name!r}: "
                                f"{type(error).__name__}: {error}")

    async def _listen(self, entry: _Server, client: Client, *,
                      task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
                      ) -> None:
        """On 2026-07-28 connections, list_changed arrives only on a subscription stream;
        earlier ones send it unasked. Started once the stream is acknowledged."""
        from mcp.client.subscriptions import ListenNotSupportedError, SubscriptionLost

        tools = client.server_capabilities.tools
        if self._on_tools_changed is None or tools is None or not tools.list_changed:
            task_status.started()
            return
        # A lost stream means a lost connection, which the next call notices and repairs.
        with contextlib.suppress(ListenNotSupportedError, SubscriptionLost, MCPError):
            async with client.listen(tools_list_changed=True) as subscription:
                task_status.started()
                # The notifications reach the message handler too; events need no reading.
                async for _ in subscription:
                    pass
        task_status.started()  # a refused subscription must not stall the session

    def _timeout_message(self, entry: _Server, session: _Session | None, what: str,
                         timeout: float) -> str:
        if session is None or session.client is None:
            return (f"MCP server {entry.name!r}: not connected within {timeout:g} s, so {what} "
                    f"was not sent{_fault_note(entry.session)}")
        return (f"MCP server {entry.name!r}: {what} timed out after {timeout:g} s and was "
                f"cancelled{_fault_note(session)}")


class _ServerDown(ToolExecutionError):
    """A call refused at once because the server is backing off after a failure."""


def _closed(client: Client) -> bool:
    """The session's connection has ended (the server exited while no call was running).

    mcp 2.3.0 offers no public signal for this; its dispatcher keeps a ``_closed`` flag.
    """
    dispatcher = getattr(client.session, "_dispatcher", None)
    return bool(getattr(dispatcher, "_closed", False))


def _describe_garbage(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        with contextlib.suppress(Exception):
            return repr(str(errors()[0].get("input", ""))[:120])
    return repr(str(error)[:120])


def _fault_note(session: _Session | None) -> str:
    return "" if session is None or session.fault is None else f"; {session.fault}"
