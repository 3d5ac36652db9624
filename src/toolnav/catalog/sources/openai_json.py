"""Tools from OpenAI-style function JSON and from the JSONL format of the evaluation data.

Accepted shapes, per tool: ``{"type": "function", "function": {name, description, parameters}}``,
a bare ``{name, description, parameters}``, or MCP's ``{name, description, inputSchema}``.
A file holds a list of tools, ``{"tools": [...]}``, ``{"functions": [...]}``, or one tool per
line (JSONL). Errors name the file, line and column, and nothing is returned on error.

Example:
    tools = tools_from_jsonl(read_text(Path("tools.jsonl")), source="weather",
                             where="tools.jsonl")
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from toolnav.errors import SchemaError, SourceError
from toolnav.progress import Progress, no_progress
from toolnav.tool import Tool

__all__ = [
    "parse_json",
    "parse_json_lines",
    "read_text",
    "tool_from_item",
    "tools_from_data",
    "tools_from_jsonl",
]

READING_STAGE = "reading tools"
PROGRESS_EVERY = 1000  # tools between progress reports (building 1,000 takes ~0.2 s)
_TAG_FIELDS = ("category", "tool", "api")
# Fields naming the service a tool belongs to ("tool" is RapidAPI's listing, in ToolBench).
_GROUP_FIELDS = ("group", "server", "tool")


def read_text(path: Path) -> str:
    """Read a UTF-8 file, turning I/O and encoding problems into `SourceError`."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except OSError as error:
        raise SourceError(f"{path}: cannot read ({error.strerror})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise SourceError(f"{path}: not UTF-8 text (invalid byte 0x{raw[error.start]:02x} at "
                          f"line {line}, byte offset {error.start}); re-save the file as UTF-8"
                          ) from None


def tools_from_jsonl(text: str, *, source: str, where: str,
                     progress: Progress = no_progress) -> list[Tool]:
    """Parse one tool per non-empty line; *progress* hears ``("reading tools", done, total)``."""
    items = [(f"{where}:{number}", value) for number, value in parse_json_lines(text, where)]
    return _build_tools(items, source=source, where=where, progress=progress)


def parse_json_lines(text: str, where: str) -> list[tuple[int, Any]]:
    """(line number, value) for each non-empty line; `SourceError` names line and column."""
    return [(number, parse_json(line, where, line=number))
            for number, line in enumerate(text.splitlines(), start=1) if line.strip()]


def tools_from_data(data: Any, *, source: str, where: str = "<data>",
                    progress: Progress = no_progress) -> list[Tool]:
    """Build tools from already-parsed JSON (a list, or an object holding a list); *progress*
    hears ``("reading tools", done, total)``."""
    if isinstance(data, Mapping):
        for key in ("tools", "functions"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            if "name" in data or "function" in data:
                data = [data]
            else:
                raise SourceError(f"{where}: expected a list of tools or an object with a "
                                  f"'tools' list; found an object with keys {sorted(data)[:8]}")
    if not isinstance(data, list):
        raise SourceError(f"{where}: expected a list of tools, got {type(data).__name__}")
    return _build_tools([(f"{where}: tool #{i}", item) for i, item in enumerate(data)],
                        source=source, where=where, progress=progress)


def parse_json(text: str, where: str, *, line: int | None = None) -> Any:
    """Parse JSON text (line *line* of a file, if given); `SourceError` names *where*, the
    line and the column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SourceError(f"{where}: malformed JSON at line {error.lineno + (line or 1) - 1}, "
                          f"column {error.colno}: {error.msg}") from None
    except ValueError:  # Python refuses to read integers of more than 4,300 digits
        line_text = f" at line {line}" if line else ""
        raise SourceError(f"{where}: an integer literal{line_text} has more than 4,300 digits; "
                          "write it as a string or use a smaller number") from None
    except RecursionError:
        raise SourceError(f"{where}: the JSON nests too deeply to read") from None


def _build_tools(items: list[tuple[str, Any]], *, source: str, where: str,
                 progress: Progress) -> list[Tool]:
    tools: list[Tool] = []
    first_seen: dict[str, str] = {}
    for done, (location, item) in enumerate(items):
        if done % PROGRESS_EVERY == 0:
            progress(READING_STAGE, done, len(items))
        tool = tool_from_item(item, source=source, location=location)
        if tool.name in first_seen:
            raise SourceError(f"{location}: duplicate tool name {tool.name!r} (first defined at "
                              f"{first_seen[tool.name]}); names must be unique within {where}")
        first_seen[tool.name] = location
        tools.append(tool)
    if len(items) >= PROGRESS_EVERY:
        progress(READING_STAGE, len(items), len(items))
    return tools


def tool_from_item(item: Any, *, source: str, location: str) -> Tool:
    """One tool from its JSON form (any shape the module docstring lists).

    Raises:
        SourceError, SchemaError: the item is unusable; the message starts with *location*.
    """
    if not isinstance(item, Mapping):
        raise SourceError(f"{location}: a tool must be a JSON object, got {type(item).__name__}")
    spec = item.get("function") if isinstance(item.get("function"), Mapping) else item
    schema = spec.get("parameters", spec.get("inputSchema", spec.get("input_schema")))
    if schema is None:
        schema = {"type": "object", "properties": {}}
    tags = tuple(str(item[field]) for field in _TAG_FIELDS if isinstance(item.get(field), str))
    group = next((item[field] for field in _GROUP_FIELDS if isinstance(item.get(field), str)), "")
    try:
        return Tool(
            name=spec.get("name"),
            description=spec.get("description") or "",
            input_schema=schema,
            output_schema=spec.get("outputSchema", spec.get("output_schema")),
            source=source,
            tags=tags,
            group=group,
        )
    except (SourceError, SchemaError) as error:
        raise type(error)(f"{location}: {error}") from None
