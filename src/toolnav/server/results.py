"""MCP tool results the server builds: structured JSON, ``isError`` results, executed calls.

Shared by the gateway's meta tools (`toolnav.server.gateway`) and the task tools
(`toolnav.server.task_tools`), so every tool the server exposes answers in the same shape.

`structured_result` answers in the wire form (a dict) rather than a `CallToolResult`: the SDK
validates and shapes every result anyway, and a model would only be built here to be dumped
back to a dict there (most of the search answer's cost outside the search is walking its
tool schemas).

Example:
    return structured_result({"tools": found})
    return error_result("unknown agent 'x'", "TaskError")
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

from toolnav.execute import ToolResult

__all__ = ["error_result", "input_required_result", "structured_result", "tool_result"]

_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def structured_result(data: dict[str, Any]) -> dict[str, Any]:
    """A ``CallToolResult`` in its wire form: *data* (plain JSON) as ``structuredContent`` and,
    serialised, as the text content.

    Raises:
        TypeError: *data* is not plain JSON.
        ValueError: *data* is not plain JSON.
    """
    return {"content": [{"type": "text", "text": _ENCODE(data)}], "structuredContent": data,
            "isError": False, "resultType": "complete"}


def error_result(message: str, kind: str, **details: Any) -> types.CallToolResult:
    """An ``isError`` result: *message* as text, and ``{"error": kind, "message", ...}``."""
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)],
                                structured_content={"error": kind, "message": message,
                                                    **details},
                                is_error=True)


def input_required_result(result: ToolResult) -> dict[str, Any] | None:
    """The MCP input-required result (SEP-2322) of a call whose tool asked the client for
    input (`toolnav.inputs.InputRequired`); None for any other result."""
    if result.input_requests is None:
        return None
    asked: dict[str, Any] = {"resultType": "input_required",
                             "inputRequests": result.input_requests}
    if result.request_state is not None:
        asked["requestState"] = result.request_state
    return asked


def tool_result(result: ToolResult) -> types.CallToolResult:
    """What an executed tool call returned, as an MCP result."""
    structured = result.data if isinstance(result.data, dict) and not result.is_error else None
    return types.CallToolResult(content=[types.TextContent(type="text", text=result.content)],
                                structured_content=structured, is_error=result.is_error)
