"""The tools the gateway itself exposes: search_tools, call_tool, get_tool_schema.

Each is a `toolnav.tool.Tool`, so its arguments are checked by the same validator (and get the
same repair-friendly messages) as the catalog's tools. `search_arguments` spares the common,
well-formed search that validator's cost. Their handlers live in `toolnav.server.gateway`.

Example:
    validate_arguments(SEARCH_TOOLS, {"query": "weather", "k": "3"})   # k -> 3
    search_arguments({"query": "weather", "k": 3})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toolnav.tool import Tool
from toolnav.validate import validate_arguments

__all__ = ["CALL_TOOL", "DEFAULT_SEARCH_K", "GET_TOOL_SCHEMA", "MAX_SEARCH_K", "META_TOOLS",
           "SEARCH_OUTPUT_SCHEMA", "SEARCH_TOOLS", "search_arguments"]

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

_SEARCH_KEYS = frozenset(SEARCH_TOOLS.input_schema["properties"])


def search_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """``validate_arguments(SEARCH_TOOLS, arguments)``, with a shortcut for arguments that
    already fit the schema as they are (a non-empty query; k, if given, an integer in range;
    namespaces and tags, if given, lists of distinct non-empty strings): those are returned as
    they are, without building a JSON Schema validator. Anything else, coercible or wrong,
    takes the validator's path, so coercions and error messages are exactly its own.

    Raises:
        ValidationFailed: as `toolnav.validate.validate_arguments`.
    """
    if _fits_search_schema(arguments):
        return dict(arguments)
    return validate_arguments(SEARCH_TOOLS, arguments)


def _fits_search_schema(arguments: Mapping[str, Any]) -> bool:
    if type(arguments) is not dict or not _SEARCH_KEYS.issuperset(arguments) \
            or not _text(arguments.get("query")):
        return False
    k = arguments.get("k", DEFAULT_SEARCH_K)
    return type(k) is int and 1 <= k <= MAX_SEARCH_K \
        and all(_names(arguments[key]) for key in ("namespaces", "tags") if key in arguments)


def _text(value: Any) -> bool:
    """A non-empty string that is valid Unicode (no unpaired surrogate)."""
    if type(value) is not str or not value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _names(value: Any) -> bool:
    """A list of distinct `_text` strings."""
    return type(value) is list and all(map(_text, value)) and len(set(value)) == len(value)
