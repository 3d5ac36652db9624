"""Run a validated call on the tool's source: a Python callable, an HTTP API, or an MCP server.

`Executor` picks the downstream client from the tool's binding (`toolnav.downstream`), applies
the timeout and the output limit, and shapes the answer. Every failure — an exception in the
tool, an HTTP error status, an MCP ``isError`` result, a timeout, a server that is down, a
missing binding — becomes a `ToolResult` with ``is_error=True`` and a message naming the tool
(and the server), never an exception, so the agent can hand it to the model. A Python tool that
asks the client for input (`toolnav.inputs.InputRequired`) gives an ``is_error`` result that
carries its ``input_requests``; the server asks the client and calls again with the answers;
one that continues as a task (`toolnav.inputs.continue_as_task`) one flagged ``becomes_task``.
Output longer than ``max_output_chars`` is cut and flagged ``truncated``. Validation is done
by `toolnav.validate`.

Example:
    async with Executor(store.server_config, timeout_seconds=10) as executor:
        result = await executor.execute(tool, {"a": 2, "b": 3})
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from toolnav.downstream.http import call_http
from toolnav.downstream.mcp import MCPPool, ToolsChangedHook
from toolnav.downstream.python import call_python
from toolnav.errors import ConfigError, SourceError, ToolExecutionError
from toolnav.inputs import ContinueAsTask, InputRequired, answering
from toolnav.tool import Tool

__all__ = ["DEFAULT_MAX_OUTPUT_CHARS", "DEFAULT_TIMEOUT_SECONDS", "Executor", "ToolResult"]

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_OUTPUT_CHARS = 20_000


@dataclass(frozen=True)
class ToolResult:
    """What a call produced.

    Attributes:
        tool: the catalog name of the tool.
        is_error: the call failed; ``content`` says why.
        content: text for the model (JSON for structured results).
        data: the structured result when there is one (``None`` on error).
        truncated: ``content`` was cut to the output limit.
        seconds: wall time of the call.
        input_requests: the tool asked the client for input (MCP input requests by id; see
            `toolnav.inputs`); None otherwise.
        request_state: the state the tool gave with its input requests.
        becomes_task: the tool has its input and continues as a task (the server creates it).
    """

    tool: str
    is_error: bool
    content: str
    data: Any = None
    truncated: bool = False
    seconds: float = 0.0
    input_requests: dict[str, Any] | None = None
    request_state: str | None = None
    becomes_task: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-serialisable data (for traces and the CLI)."""
        return {"tool": self.tool, "is_error": self.is_error, "content": self.content,
                "truncated": self.truncated, "seconds": round(self.seconds, 4)}


class Executor:
    """Runs tool calls with a timeout and an output size limit; owns the downstream clients.

    Args:
        server_config: looks up a downstream MCP server's config by name (usually the catalog
            store's ``server_config``); None for an unknown name.
        timeout_seconds: limit per call (connecting to an MCP server included).
        max_output_chars: longer output is truncated.
        stderr_log: file that stdio MCP servers' stderr is appended to (default: discarded).
        on_tools_changed: awaited with a server name when that server's tool list changes.

    Use as ``async with`` (entered and closed by one task); sync code goes through
    `toolnav._blocking.BlockingRunner.wrap`.

    Raises:
        ConfigError: a limit is not positive.
    """

    def __init__(self, server_config: Callable[[str], Mapping[str, Any] | None], *,
                 timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
                 max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
                 stderr_log: Path | None = None,
                 on_tools_changed: ToolsChangedHook | None = None) -> None:
        if timeout_seconds <= 0 or max_output_chars <= 0:
            raise ConfigError("timeout_seconds and max_output_chars must be positive")
        self.timeout_seconds = timeout_seconds
        self.max_output_chars = max_output_chars
        self._pool = MCPPool(server_config, stderr_log=stderr_log,
                             on_tools_changed=on_tools_changed)
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Executor:
        await self._pool.__aenter__()
        self._http = httpx.AsyncClient()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client and every MCP session (stopping stdio servers)."""
        http, self._http = self._http, None
        try:
            if http is not None:
                await http.aclose()
        finally:
            await self._pool.aclose()

    @property
    def pool(self) -> MCPPool:
        """The MCP session pool (for listing a server's tools over its session)."""
        return self._pool

    def downstream_states(self) -> dict[str, dict[str, Any]]:
        """Per downstream MCP server: state, last error, reconnects, calls (see `MCPPool`)."""
        return self._pool.states()

    async def execute(self, tool: Tool, arguments: Mapping[str, Any], *,
                      responses: Mapping[str, Any] | None = None, state: str | None = None,
                      capabilities: Collection[str] | None = None,
                      may_become_task: bool = False) -> ToolResult:
        """Call *tool* with (already validated) *arguments*; never raises for tool failures.

        Args:
            tool: the tool (its current record).
            arguments: validated arguments.
            responses: the client's answers to the tool's input requests (see
                `toolnav.inputs`), for a call made again after it asked.
            state: the state the tool gave with those requests.
            capabilities: the client capabilities declared (None: unknown).
            may_become_task: the server turns this call into a task if the tool asks to
                (`toolnav.inputs.continue_as_task`).

        Raises:
            ToolExecutionError: the executor is not open (``async with`` was not entered).
        """
        if self._http is None:
            raise ToolExecutionError("the Executor is not open: use `async with Executor(...)`")
        start = time.perf_counter()
        try:
            with answering(responses, state, capabilities, may_become_task=may_become_task):
                data = await self._dispatch(tool, arguments)
        except InputRequired as asked:
            return ToolResult(tool.name, True, f"tool {tool.name!r}: {asked}",
                              seconds=time.perf_counter() - start,
                              input_requests=asked.requests, request_state=asked.state)
        except ContinueAsTask as handoff:
            return ToolResult(tool.name, True, f"tool {tool.name!r}: {handoff}",
                              seconds=time.perf_counter() - start, becomes_task=True)
        except (ToolExecutionError, SourceError) as error:
            return ToolResult(tool.name, True, str(error), seconds=time.perf_counter() - start)
        except Exception as error:  # the tool's own failure, reported to the model
            message = f"tool {tool.name!r} raised {type(error).__name__}: {error}"
            return ToolResult(tool.name, True, message, seconds=time.perf_counter() - start)
        content = data if isinstance(data, str) else _to_json(data)
        truncated = len(content) > self.max_output_chars
        if truncated:
            content = (content[: self.max_output_chars] + f"\n[output truncated: {len(content)} "
                       f"characters, limit {self.max_output_chars}]")
        return ToolResult(tool.name, False, content, data, truncated,
                          time.perf_counter() - start)

    async def _dispatch(self, tool: Tool, arguments: Mapping[str, Any]) -> Any:
        binding = tool.binding or {}
        kind = binding.get("kind")
        if kind == "python":
            try:
                return await call_python(binding, arguments, timeout=self.timeout_seconds)
            except ToolExecutionError as error:
                raise ToolExecutionError(f"tool {tool.name!r} {error}") from None
        if kind == "http":
            assert self._http is not None
            # A character is at most 4 UTF-8 bytes: this reads enough for the output limit.
            return await call_http(self._http, binding, arguments,
                                   timeout=self.timeout_seconds,
                                   byte_limit=4 * self.max_output_chars + 1)
        if kind == "mcp":
            return await self._call_mcp(binding, arguments)
        raise ToolExecutionError(f"tool {tool.name!r} has no executable binding (kind "
                                 f"{kind!r}); it can be routed but not called")

    async def _call_mcp(self, binding: Mapping[str, Any], arguments: Mapping[str, Any]) -> Any:
        server, name = binding["server"], binding["tool"]
        result = await self._pool.call_tool(server, name, arguments,
                                            timeout=self.timeout_seconds)
        text = "\n".join(getattr(block, "text", "") for block in result.content
                         if getattr(block, "type", "") == "text")
        if result.is_error:
            raise ToolExecutionError(f"MCP tool {name!r} on server {server!r} failed: "
                                     f"{text or 'no message'}")
        return result.structured_content if result.structured_content is not None else text


def _to_json(data: Any) -> str:
    try:
        return json.dumps(data, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(data)
