"""Run a validated call on the tool's source: a Python callable, an HTTP API, or an MCP server.

Every failure — an exception in the tool, an HTTP error status, an MCP ``isError`` result, a
timeout, a missing binding — becomes a `ToolResult` with ``is_error=True`` and a message,
never an exception, so the agent can hand it to the model. Output longer than
``max_output_chars`` is cut and flagged ``truncated`` (the model gets the head and a notice).
Validation is not done here; see `toolnav.validate`.

Example:
    result = Executor(timeout_seconds=10).execute(tool, {"a": 2, "b": 3})
    print(result.is_error, result.content)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from toolnav.catalog.sources.python import resolve_target
from toolnav.errors import ConfigError, SourceError, ToolExecutionError
from toolnav.tool import Tool

__all__ = ["DEFAULT_MAX_OUTPUT_CHARS", "DEFAULT_TIMEOUT_SECONDS", "Executor", "ToolResult",
           "run_sync"]

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
    """

    tool: str
    is_error: bool
    content: str
    data: Any = None
    truncated: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-serialisable data (for traces and the CLI)."""
        return {"tool": self.tool, "is_error": self.is_error, "content": self.content,
                "truncated": self.truncated, "seconds": round(self.seconds, 4)}


class Executor:
    """Runs tool calls with a timeout and an output size limit.

    Args:
        timeout_seconds: limit per call. A Python callable that overruns keeps running in
            its worker thread (Python cannot kill threads) but its result is discarded.
        max_output_chars: longer output is truncated.

    Raises:
        ConfigError: a limit is not positive.
    """

    def __init__(self, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
                 max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS) -> None:
        if timeout_seconds <= 0 or max_output_chars <= 0:
            raise ConfigError("timeout_seconds and max_output_chars must be positive")
        self.timeout_seconds = timeout_seconds
        self.max_output_chars = max_output_chars
        self._mcp: _MCPSessions | None = None

    def execute(self, tool: Tool, arguments: Mapping[str, Any]) -> ToolResult:
        """Call *tool* with (already validated) *arguments*; never raises for tool failures."""
        start = time.perf_counter()
        try:
            data = self._dispatch(tool, dict(arguments))
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

    def _dispatch(self, tool: Tool, arguments: dict[str, Any]) -> Any:
        binding = tool.binding or {}
        kind = binding.get("kind")
        if kind == "python":
            return self._call_python(binding, arguments)
        if kind == "http":
            return self._call_http(binding, arguments)
        if kind == "mcp":
            return self._call_mcp(binding, arguments)
        raise ToolExecutionError(f"tool {tool.name!r} has no executable binding (kind "
                                 f"{kind!r}); it can be routed but not called")

    def _call_python(self, binding: Mapping[str, Any], arguments: dict[str, Any]) -> Any:
        func = resolve_target(binding["target"])
        positional = [arguments.pop(name) for name in binding.get("positional", ())
                      if name in arguments]
        if inspect.iscoroutinefunction(func):
            return run_sync(func(*positional, **arguments), self.timeout_seconds)
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        future = pool.submit(func, *positional, **arguments)
        try:
            return future.result(timeout=self.timeout_seconds)
        except concurrent.futures.TimeoutError:
            raise ToolExecutionError(f"timed out after {self.timeout_seconds:g} s") from None
        finally:
            pool.shutdown(wait=False)

    def _call_http(self, binding: Mapping[str, Any], arguments: dict[str, Any]) -> Any:
        locations: Mapping[str, str] = binding.get("locations", {})
        path = binding["path"]
        query: dict[str, Any] = {}
        headers: dict[str, str] = {}
        body: Any = None
        for name, value in arguments.items():
            where = locations.get(name, "body")
            if where == "path":
                path = path.replace("{" + name + "}", quote(str(value), safe=""))
            elif where == "query":
                query[name] = json.dumps(value) if isinstance(value, dict | list) else value
            elif where == "header":
                headers[name] = str(value)
            elif where == "body_whole":
                body = value
            else:
                body = {**(body or {}), name: value}
        url = binding["base_url"].rstrip("/") + path
        timed_out = ToolExecutionError(f"HTTP {binding['method']} {url} timed out after "
                                       f"{self.timeout_seconds:g} s")
        # Stop reading past the output limit (a character is at most 4 UTF-8 bytes): a huge
        # or endless response must not fill memory; the head is enough for the model.
        byte_limit = 4 * self.max_output_chars + 1
        deadline = time.monotonic() + self.timeout_seconds
        raw = bytearray()
        try:
            with httpx.stream(binding["method"].upper(), url, params=query, headers=headers,
                              json=body, timeout=self.timeout_seconds) as response:
                for chunk in response.iter_bytes():
                    raw += chunk
                    if len(raw) >= byte_limit:
                        break
                    if time.monotonic() > deadline:  # httpx's timeout is per read, not total
                        raise timed_out
        except httpx.TimeoutException:
            raise timed_out from None
        except httpx.HTTPError as error:
            raise ToolExecutionError(f"HTTP {binding['method']} {url} failed: {error}") from None
        text = bytes(raw).decode(response.encoding or "utf-8", errors="replace")
        if response.status_code >= 400:
            raise ToolExecutionError(f"HTTP {response.status_code} from {binding['method']} "
                                     f"{url}: {text[:500]}")
        if len(raw) < byte_limit and "json" in response.headers.get("content-type", ""):
            return json.loads(text)
        return text

    def _call_mcp(self, binding: Mapping[str, Any], arguments: dict[str, Any]) -> Any:
        if self._mcp is None:
            self._mcp = _MCPSessions()
        result = self._mcp.call(binding, arguments, self.timeout_seconds)
        text = "\n".join(getattr(block, "text", "") for block in result.content
                         if getattr(block, "type", "") == "text")
        if result.is_error:
            raise ToolExecutionError(f"MCP tool {binding['tool']!r} on server "
                                     f"{binding['server']!r} failed: {text or 'no message'}")
        return result.structured_content if result.structured_content is not None else text

    def close(self) -> None:
        """Stop the MCP servers this executor started (and their connections)."""
        if self._mcp is not None:
            self._mcp.close()
            self._mcp = None

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _MCPSessions:
    """Open MCP clients, one per server, kept alive on a background event loop.

    Starting a stdio server costs about a second, so it is started on the first call and
    reused; each server answers its calls in order. A broken connection is reopened on the
    next call.
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="toolnav-mcp")
        self._thread.start()
        self._queues: dict[str, asyncio.Queue] = {}
        self._tasks: dict[str, asyncio.Task] = {}

    def call(self, binding: Mapping[str, Any], arguments: dict[str, Any],
             timeout_seconds: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(self._call(binding, arguments), self._loop)
        try:
            return future.result(timeout_seconds)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ToolExecutionError(f"timed out after {timeout_seconds:g} s") from None

    def close(self) -> None:
        async def stop() -> None:
            for queue in self._queues.values():
                queue.put_nowait(None)
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

        with contextlib.suppress(concurrent.futures.TimeoutError):
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _call(self, binding: Mapping[str, Any], arguments: dict[str, Any]) -> Any:
        key = json.dumps([binding["server"], binding["config"]], sort_keys=True)
        task = self._tasks.get(key)
        if task is None or task.done():
            ready: asyncio.Future = self._loop.create_future()
            self._queues[key] = asyncio.Queue()
            task = self._loop.create_task(self._serve(binding, self._queues[key], ready))
            self._tasks[key] = task
            await ready  # raises if the server could not be started
        answer: asyncio.Future = self._loop.create_future()
        await self._queues[key].put((binding["tool"], arguments, answer))
        return await answer

    @staticmethod
    async def _serve(binding: Mapping[str, Any], queue: asyncio.Queue,
                     ready: asyncio.Future) -> None:
        from toolnav.catalog.sources.mcp import connect

        try:
            async with connect(binding["config"], binding["server"]) as client:
                ready.set_result(None)
                while (item := await queue.get()) is not None:
                    name, arguments, answer = item
                    try:
                        result = await client.call_tool(name, arguments)
                    except Exception as error:  # the connection broke: report, then reopen
                        if not answer.done():
                            answer.set_exception(error)
                        return
                    if not answer.done():
                        answer.set_result(result)
        except Exception as error:  # the server could not be started, or its connection died
            if not ready.done():
                ready.set_exception(error)
            while not queue.empty():  # fail the calls still waiting, instead of timing out
                item = queue.get_nowait()
                if item is not None and not item[2].done():
                    item[2].set_exception(error)


def run_sync(coroutine: Any, timeout_seconds: float) -> Any:
    """Run *coroutine* to completion with a timeout, even if an event loop is already running.

    Raises:
        ToolExecutionError: the timeout expired.
    """
    async def bounded() -> Any:
        try:
            return await asyncio.wait_for(coroutine, timeout_seconds)
        except TimeoutError:
            raise ToolExecutionError(f"timed out after {timeout_seconds:g} s") from None

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(bounded())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, bounded()).result()


def _to_json(data: Any) -> str:
    try:
        return json.dumps(data, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(data)
