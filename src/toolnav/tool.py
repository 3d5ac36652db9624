"""The Tool record: what a tool is called, what it does, what it takes, and how to run it.

A `Tool` is immutable and validated on construction: the name is usable, every field is plain
JSON, the input schema is a JSON Schema (2020-12) object schema, stored as `toolnav.schema` made
it safe (ref-free, bounded). It also defines the text that is embedded for retrieval and
a content hash that changes whenever anything that matters about the tool changes. Storage lives
in `toolnav.catalog`; execution in `toolnav.execute`.

Example:
    tool = Tool(name="get_weather", description="Current weather for a city",
                input_schema={"type": "object", "properties": {"city": {"type": "string"}}})
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from toolnav.errors import SchemaError, SourceError
from toolnav.schema import json_value, prepare_schema, short_repr

__all__ = [
    "EMPTY_OBJECT_SCHEMA",
    "LEXICAL_TEXT_VERSION",
    "NAMESPACE_SEPARATOR",
    "Tool",
    "embedding_text",
    "lexical_text",
    "name_words",
]

NAMESPACE_SEPARATOR = "__"
# Raise it with any change to what `lexical_text` (or `name_words`) returns: saved BM25 indexes
# are keyed on it and on the stored tools, so homes rebuild theirs instead of keeping stale ones.
LEXICAL_TEXT_VERSION = "1"
EMPTY_OBJECT_SCHEMA: Mapping[str, Any] = {"type": "object", "properties": {}}
MAX_NAME_LENGTH = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True)
class Tool:
    """A callable tool as the router, renderer, validator and executor see it.

    Args:
        name: unique name in the catalog (1–256 characters, no control characters, no
            leading or trailing space; providers' stricter rules are `toolnav.render`'s job).
        description: what the tool does, in natural language.
        input_schema: JSON Schema object describing the arguments.
        output_schema: optional JSON Schema of the structured result.
        source: where the tool came from (a file, module, server or API name); also the
            namespace used when two sources define the same name.
        tags: free-form labels for filtering (``None`` for none; one string is one tag).
        group: the service or API the tool belongs to (an MCP server, an OpenAPI API, a
            RapidAPI listing); tools of one group are often needed together.
        binding: how to execute the tool, e.g. ``{"kind": "python", "target": "pkg.mod:func"}``;
            ``None`` for tools that can be routed but not executed.

    Raises:
        SourceError: the name is empty, too long, or has control characters or outer spaces;
            a text field is not a string; the binding is not plain JSON.
        SchemaError: a schema is not plain JSON, not a valid JSON Schema (object schema for
            the input), or unsafe to use (see `toolnav.schema.prepare_schema`).
    """

    name: str
    description: str = ""
    input_schema: Mapping[str, Any] = field(default_factory=lambda: dict(EMPTY_OBJECT_SCHEMA))
    output_schema: Mapping[str, Any] | None = None
    source: str = ""
    tags: tuple[str, ...] = ()
    group: str = ""
    binding: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        check_name(self.name)
        label = f"tool {self.name!r}"
        for name in ("description", "source", "group"):
            _check_text(getattr(self, name), f"{label}: {name}")
        object.__setattr__(self, "tags", _tags(self.tags, label))
        written, usable = _object_schema(self.input_schema, f"{label}: input schema")
        object.__setattr__(self, "input_schema", written)
        object.__setattr__(self, "_call_schema", usable)
        if self.output_schema is not None:
            where = f"{label}: output schema"
            prepare_schema(self.output_schema, where)  # checked like the input schema
            object.__setattr__(self, "output_schema", json_value(self.output_schema, where))
        if self.binding is not None:
            if not isinstance(self.binding, Mapping):
                raise SourceError(f"{label}: binding must be a JSON object or null, got "
                                  f"{type(self.binding).__name__}")
            object.__setattr__(self, "binding",
                               json_value(self.binding, f"{label}: binding", SourceError))

    @property
    def namespace(self) -> str:
        """The namespace the tool is served and scoped under: its downstream MCP server's name
        for an MCP tool, else its source label."""
        binding = self.binding or {}
        if binding.get("kind") == "mcp" and binding.get("server"):
            return str(binding["server"])
        return self.source

    @property
    def call_schema(self) -> Mapping[str, Any]:
        """The input schema with its local ``$ref``s inlined (cycles cut): what validation,
        coercion and rendering for a model work on. `input_schema` stays as the source wrote
        it (``$defs``, ``$schema``, ``$anchor`` included), which is what MCP clients are
        served (SEP-1613, SEP-2106)."""
        usable = self.__dict__.get("_call_schema")
        if usable is None:  # a record loaded without checks: prepare it once, on first use
            usable = prepare_schema(self.input_schema, f"tool {self.name!r}: input schema")
            object.__setattr__(self, "_call_schema", usable)
        return usable

    def renamed(self, *, name: str | None = None, source: str | None = None) -> Tool:
        """A copy under another name and/or source, without checking the schemas again.

        Use it instead of `dataclasses.replace` (which re-runs every check) for tools that are
        already built, e.g. when a catalog files a tool as ``source__name``.

        Args:
            name: the new name (checked like any tool name); ``None`` keeps it.
            source: the new source label; ``None`` keeps it.

        Returns:
            The new tool; schemas and binding are shared with this one.

        Raises:
            SourceError: the new name or source is unusable.
        """
        copy = object.__new__(Tool)
        for key, value in self.__dict__.items():
            object.__setattr__(copy, key, value)
        if name is not None:
            check_name(name)
            object.__setattr__(copy, "name", name)
        if source is not None:
            _check_text(source, f"tool {copy.name!r}: source")
            object.__setattr__(copy, "source", source)
        return copy

    @property
    def content_hash(self) -> str:
        """SHA-256 over every field; equal hashes mean nothing about the tool changed."""
        return _sha256_json(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """The tool as plain JSON-serialisable data (inverse of `from_dict`)."""
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
            "output_schema": self.output_schema,
            "source": self.source,
            "tags": list(self.tags),
            "group": self.group,
            "binding": self.binding,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, trusted: bool = False) -> Tool:
        """Build a tool from `to_dict` output.

        Args:
            data: the fields.
            trusted: skip validation (for records this package validated when storing them).

        Returns:
            The tool.

        Raises:
            SourceError, SchemaError: (untrusted data only) a field is missing or unusable.
        """
        if not isinstance(data, Mapping):
            raise SourceError(f"a tool record must be a JSON object, got {type(data).__name__}")
        fields = {
            "name": data.get("name"),
            "description": data.get("description") or "",
            "input_schema": data.get("input_schema") or dict(EMPTY_OBJECT_SCHEMA),
            "output_schema": data.get("output_schema"),
            "source": data.get("source") or "",
            "tags": data.get("tags"),
            "group": data.get("group") or "",
            "binding": data.get("binding"),
        }
        if not trusted:
            return cls(**fields)
        fields["tags"] = tuple(fields["tags"] or ())
        tool = object.__new__(cls)
        for key, value in fields.items():
            object.__setattr__(tool, key, value)
        return tool

    def parameters(self) -> Mapping[str, Mapping[str, Any]]:
        """The top-level properties of the input schema."""
        properties = self.input_schema.get("properties") or {}
        return properties if isinstance(properties, Mapping) else {}


def check_name(name: object) -> None:
    """Raise `SourceError` unless *name* is a usable tool name."""
    if not isinstance(name, str) or not name:
        raise SourceError(f"a tool has no name (got {short_repr(name)}); every tool needs a "
                          "non-empty 'name'")
    if len(name) > MAX_NAME_LENGTH:
        raise SourceError(f"tool name {name[:40]!r}... is {len(name)} characters; "
                          f"the limit is {MAX_NAME_LENGTH}")
    json_value(name, "a tool name", SourceError)
    if _CONTROL.search(name) or name != name.strip():
        raise SourceError(f"tool name {name!r} has control characters or leading/trailing "
                          "spaces; use letters, digits, '_', '-' or '.'")


def _check_text(value: object, where: str) -> None:
    if not isinstance(value, str):
        raise SourceError(f"{where} must be a string, got {type(value).__name__}")
    json_value(value, where, SourceError)


def _tags(tags: object, label: str) -> tuple[str, ...]:
    """The tags as a tuple of strings: ``None`` is no tags, a single string is one tag."""
    if tags is None:
        return ()
    if isinstance(tags, str):
        tags = (tags,)
    if not isinstance(tags, Iterable) or isinstance(tags, Mapping):
        raise SourceError(f"{label}: tags must be a list of strings, got {type(tags).__name__}")
    result = tuple(tags)
    for tag in result:
        _check_text(tag, f"{label}: tag")
    return result


def _object_schema(schema: object, where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The schema as written (a plain-JSON copy) and as `prepare_schema` makes it usable,
    checking the rule that tool arguments are a JSON object."""
    if not isinstance(schema, Mapping):
        raise SchemaError(f"{where} must be a JSON object, got {type(schema).__name__}")
    prepared = prepare_schema(schema, where)
    if prepared.get("type") != "object":
        raise SchemaError(f"{where} must have \"type\": \"object\" (tool arguments are a JSON "
                          f"object), got type {prepared.get('type')!r}")
    return json_value(schema, where), prepared


def embedding_text(tool: Tool, max_chars: int = 1000) -> str:
    """The text embedded for dense retrieval: name words, description, parameters, capped."""
    parts = [name_words(tool.name), tool.description.strip()]
    for param, spec in tool.parameters().items():
        detail = spec.get("description", "") if isinstance(spec, Mapping) else ""
        parts.append(f"{name_words(param)}: {detail}".strip().rstrip(":"))
    return ". ".join(part for part in parts if part)[:max_chars]


def lexical_text(tool: Tool) -> str:
    """The text indexed by BM25: name (raw, and its words twice), description, parameters.

    Repeating the name words weights the name field above the rest (measured on dev data:
    BM25 recall@5 +0.01 on ToolBench, unchanged on Seal-Tools; docs/benchmarks.md).
    Changing what it returns means raising `LEXICAL_TEXT_VERSION`.
    """
    return f"{tool.name} {name_words(tool.name)} {embedding_text(tool, max_chars=4000)}"


def name_words(name: str) -> str:
    """Split an identifier into lower-case words: ``getWeather_v2`` -> ``get weather v2``."""
    spaced = _CAMEL_BOUNDARY.sub(" ", name)
    return " ".join(_NON_WORD.sub(" ", spaced).lower().split())


def _sha256_json(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
