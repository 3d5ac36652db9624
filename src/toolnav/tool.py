"""The Tool record: what a tool is called, what it does, what it takes, and how to run it.

A `Tool` is immutable and validated on construction: the name is usable, the input schema is a
JSON Schema (2020-12) object schema. It also defines the text that is embedded for retrieval and
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from toolnav.errors import SchemaError, SourceError

__all__ = [
    "EMPTY_OBJECT_SCHEMA",
    "NAMESPACE_SEPARATOR",
    "Tool",
    "embedding_text",
    "lexical_text",
    "name_words",
]

NAMESPACE_SEPARATOR = "__"
EMPTY_OBJECT_SCHEMA: Mapping[str, Any] = {"type": "object", "properties": {}}
MAX_NAME_LENGTH = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")
# One validator for the 2020-12 metaschema, built once: checking a schema is then ~2x faster.
_METASCHEMA_VALIDATOR = Draft202012Validator(Draft202012Validator.META_SCHEMA)


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
        tags: free-form labels for filtering.
        group: the service or API the tool belongs to (an MCP server, an OpenAPI API, a
            RapidAPI listing); tools of one group are often needed together.
        binding: how to execute the tool, e.g. ``{"kind": "python", "target": "pkg.mod:func"}``;
            ``None`` for tools that can be routed but not executed.

    Raises:
        SourceError: the name is empty, too long, or has control characters or outer spaces.
        SchemaError: a schema is not a valid JSON Schema object schema.
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
        if not isinstance(self.description, str):
            raise SourceError(f"tool {self.name!r}: description must be a string")
        object.__setattr__(self, "tags", tuple(self.tags))
        check_object_schema(self.input_schema, f"tool {self.name!r}: input schema")
        if self.output_schema is not None:
            check_schema(self.output_schema, f"tool {self.name!r}: output schema")

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
        """
        fields = {
            "name": data["name"],
            "description": data.get("description") or "",
            "input_schema": data.get("input_schema") or dict(EMPTY_OBJECT_SCHEMA),
            "output_schema": data.get("output_schema"),
            "source": data.get("source") or "",
            "tags": tuple(data.get("tags") or ()),
            "group": data.get("group") or "",
            "binding": data.get("binding"),
        }
        if not trusted:
            return cls(**fields)
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
        raise SourceError(f"a tool has no name (got {name!r}); every tool needs a non-empty 'name'")
    if len(name) > MAX_NAME_LENGTH:
        raise SourceError(f"tool name {name[:40]!r}... is {len(name)} characters; "
                          f"the limit is {MAX_NAME_LENGTH}")
    if _CONTROL.search(name) or name != name.strip():
        raise SourceError(f"tool name {name!r} has control characters or leading/trailing "
                          "spaces; use letters, digits, '_', '-' or '.'")


def check_schema(schema: object, where: str) -> None:
    """Raise `SchemaError` unless *schema* is a valid JSON Schema (2020-12) document."""
    if not isinstance(schema, Mapping):
        raise SchemaError(f"{where} must be a JSON object, got {type(schema).__name__}")
    error = best_match(_METASCHEMA_VALIDATOR.iter_errors(schema))
    if error is not None:
        location = "/".join(str(part) for part in error.path) or "(root)"
        raise SchemaError(f"{where} is not a valid JSON Schema at {location}: {error.message}")


def check_object_schema(schema: object, where: str) -> None:
    """Raise `SchemaError` unless *schema* is a valid JSON Schema whose type is ``object``."""
    check_schema(schema, where)
    assert isinstance(schema, Mapping)
    if schema.get("type") != "object":
        raise SchemaError(f"{where} must have \"type\": \"object\" (tool arguments are a JSON "
                          f"object), got type {schema.get('type')!r}")


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
    """
    return f"{tool.name} {name_words(tool.name)} {embedding_text(tool, max_chars=4000)}"


def name_words(name: str) -> str:
    """Split an identifier into lower-case words: ``getWeather_v2`` -> ``get weather v2``."""
    spaced = _CAMEL_BOUNDARY.sub(" ", name)
    return " ".join(_NON_WORD.sub(" ", spaced).lower().split())


def _sha256_json(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
