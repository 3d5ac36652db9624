"""The tools the gateway itself exposes: search_tools, call_tool, get_tool_schema.

Each is a `toolnav.tool.Tool`, so its arguments are checked by the same validator (and get the
same repair-friendly messages) as the catalog's tools. Their handlers live in
`toolnav.server.gateway`.

Example:
    validate_arguments(SEARCH_TOOLS, {"query": "weather", "k": "3"})   # k -> 3
"""

from __future__ import annotations

from typing import Any

from toolnav.tool import Tool

__all__ = ["CALL_TOOL", "DEFAULT_SEARCH_K", "GET_TOOL_SCHEMA", "MAX_SEARCH_K", "META_TOOLS",
           "SEARCH_OUTPUT_SCHEMA", "SEARCH_TOOLS"]

MAX_SEARCH_K = 50
DEFAULT_SEARCH_K = 5

_NAMES = {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True}

SEARCH_TOOLS = Tool(
    name="search_tools",
    description=(
        "Find the tools that fit a task among every tool this gateway serves, ranked by how "
        "well they fit. Each result carries the tool's full input schema: pass its name and "
        "arguments to call_tool. Search again with other words if none fits."),
    input_schema={
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1,
                      "description": "What you want done, in plain words."},
            "k": {"type": "integer", "minimum": 1, "maximum": MAX_SEARCH_K,
                  "default": DEFAULT_SEARCH_K, "description": "How many tools to return."},
            "namespaces": {**_NAMES, "description": "Only tools of these servers or sources."},
            "tags": {**_NAMES, "description": "Only tools carrying one of these tags."},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
)

CALL_TOOL = Tool(
    name="call_tool",
    description=(
        "Call a tool found with search_tools. The arguments are checked against the tool's "
        "input schema first; if they do not fit, the error lists each problem so you can fix "
        "the call and try again."),
    input_schema={
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1,
                     "description": "The tool's name, as search_tools returned it."},
            "arguments": {"type": "object", "default": {},
                          "description": "The tool's arguments, matching its input schema."},
        },
        "required": ["name"],
        "additionalProperties": False,
    },
)

GET_TOOL_SCHEMA = Tool(
    name="get_tool_schema",
    description="The current description and input schema of one tool, by name.",
    input_schema={
        "type": "object",
        "properties": {"name": {"type": "string", "minLength": 1,
                                "description": "The tool's name."}},
        "required": ["name"],
        "additionalProperties": False,
    },
)

META_TOOLS = {tool.name: tool for tool in (SEARCH_TOOLS, CALL_TOOL, GET_TOOL_SCHEMA)}

_TOOL_DESCRIPTION: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "description": {"type": "string"},
        "inputSchema": {"type": "object"},
        "score": {"type": "number"},
    },
    "required": ["name", "namespace", "description", "inputSchema"],
}

SEARCH_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"tools": {"type": "array", "items": _TOOL_DESCRIPTION}},
    "required": ["tools"],
}
