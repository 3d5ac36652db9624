"""Make a tool's JSON Schema safe to use: plain JSON, valid, ref-free, bounded, regexes compiled.

`prepare_schema` runs once, when a `toolnav.tool.Tool` is built, and returns the schema every
later step (validation, coercion, rendering, compaction, embedding text) works on:

1. `json_value` copies it as plain JSON: dicts with string keys, lists (tuples become lists),
   strings without unpaired surrogates, finite floats, integers under `MAX_INTEGER_DIGITS`
   digits, at most `MAX_DEPTH` containers deep (checked before Python's recursion limit is near).
2. It must be a valid JSON Schema 2020-12 document: common keywords are checked here, anything
   else against the metaschema by jsonschema (~100x slower).
3. Local ``$ref``s (``#``, ``#/$defs/...``, ``#/definitions/...``, any JSON pointer) are
   inlined and ``$defs``/``definitions`` dropped. A cycle (a tree ``Node`` whose children are
   ``Node``s) is followed `RECURSION_UNROLL` more time(s), then cut: the cut reference becomes a
   permissive schema that keeps only the target's ``type`` and ``description`` (``{}`` when it
   has neither), so the model still sees the shape of the first levels and deeper levels are
   not checked. Inlining (not lazy resolution) is what lets every consumer stay ref-unaware.
   A reference to nothing, a remote one (``other.json``, ``http://...``), an anchor
   (``#name``) or ``$dynamicRef`` is a `SchemaError` naming the schema and the pointer.
4. Every ``pattern`` and ``patternProperties`` key must compile as a Python regex.
5. A ``false`` subschema among ``properties`` (and other maps and lists of subschemas) becomes
   the equivalent ``{"not": {}}``: jsonschema loses the path of errors from a bare ``false``.

What a field *means* (object type for inputs, provider rules) is left to `toolnav.tool` and
`toolnav.render`.

Example:
    schema = prepare_schema({"$defs": {"C": {"type": "string"}},
                             "type": "object", "properties": {"city": {"$ref": "#/$defs/C"}}},
                            "tool 'weather': input schema")   # properties.city is inlined
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any
from urllib.parse import unquote

from toolnav.errors import SchemaError, ToolnavError

__all__ = [
    "MAX_DEPTH",
    "MAX_INTEGER_DIGITS",
    "MAX_SCHEMA_NODES",
    "RECURSION_UNROLL",
    "json_value",
    "prepare_schema",
    "resolve_refs",
    "short_repr",
]

# 64 containers is ~32 nested schemas: the metaschema check then needs ~350 Python frames, far
# from the default limit of 1000 even when called from a deep server stack (~10 frames a level).
MAX_DEPTH = 64
# Python refuses to convert integers of more than 4,300 digits to text (json.dumps included).
MAX_INTEGER_DIGITS = 4000
# Subschemas allowed after inlining refs: guards against exponential blow-up (`A: [B, B]`, ...).
MAX_SCHEMA_NODES = 20_000
# How many more times a cycle is followed before it is cut (see the module docstring).
RECURSION_UNROLL = 1

_MAX_INTEGER = 10**MAX_INTEGER_DIGITS
_SURROGATE = re.compile("[\ud800-\udfff]")
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_VALUES = frozenset({
    "not", "if", "then", "else", "items", "additionalItems", "additionalProperties",
    "unevaluatedProperties", "unevaluatedItems", "contains", "propertyNames", "contentSchema",
})
_DEFINITIONS = frozenset({"$defs", "definitions"})
# Keywords (or a `false` value) that make `resolve_refs` change or check something.
_INLINED_KEYWORDS = frozenset({"$ref", "$dynamicRef", "pattern", "patternProperties",
                               *_DEFINITIONS})
_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "$comment",
                          "deprecated", "readOnly", "writeOnly"})


def prepare_schema(schema: object, where: str) -> Any:
    """The safe, ref-free copy of *schema* that toolnav stores and uses (see module docstring).

    Args:
        schema: a JSON Schema (an object, or ``true``/``false``).
        where: what the schema belongs to, for messages (``"tool 'x': input schema"``).

    Returns:
        A new plain-JSON schema without ``$ref``s.

    Raises:
        SchemaError: not JSON, not a valid schema, a bad ``$ref`` or regex, too deep or large.
    """
    if not isinstance(schema, Mapping | bool):
        raise SchemaError(f"{where} must be a JSON object, got {type(schema).__name__}")
    copier = _Copier(where, SchemaError)
    plain = copier.copy(schema, None, 0)
    error = None if _surely_valid(plain) else _metaschema_error(plain)
    if error is not None:
        raise SchemaError(f"{where} is not a valid JSON Schema at {_pointer(error.path)}: "
                          f"{_printable(error.message[:300])}")
    if not copier.inlining_needed:  # nothing for resolve_refs to do: skip its copy
        return plain
    return resolve_refs(plain, where, document=plain)


def resolve_refs(schema: Any, where: str, *, document: Any = None) -> Any:
    """A copy of *schema* with local ``$ref``s inlined (cycles cut) and regexes compiled.

    Args:
        schema: plain JSON (see `json_value`).
        where: what the schema belongs to, for messages.
        document: the document ``#`` refers to; *schema* itself when ``None`` (an OpenAPI
            source passes the whole document, whose ``#/components/...`` the schema uses).

    Raises:
        SchemaError: a dangling, remote or anchor ``$ref``, a bad regex, or a result deeper
            than `MAX_DEPTH` or larger than `MAX_SCHEMA_NODES` even with cycles cut at once.
    """
    root = schema if document is None else document
    for unroll in (RECURSION_UNROLL, 0):
        resolver = _Resolver(root, where, unroll, in_root=document is None or schema is document)
        try:
            return resolver.schema(schema, "#", 0)
        except _TooLarge:
            continue
    raise SchemaError(f"{where}: after inlining its $refs the schema nests deeper than "
                      f"{MAX_DEPTH} levels or has more than {MAX_SCHEMA_NODES} subschemas; "
                      "simplify it (fewer nested or recursive definitions)")


def json_value(value: object, where: str, error: type[ToolnavError] = SchemaError) -> Any:
    """A plain-JSON copy of *value*; raises *error* naming the pointer of anything else.

    Tuples become lists. Refused: keys that are not strings, sets, bytes and other objects,
    NaN and infinities, integers of more than `MAX_INTEGER_DIGITS` digits, strings with unpaired
    surrogates (they cannot be written as UTF-8), and more than `MAX_DEPTH` nested containers.
    """
    return _Copier(where, error).copy(value, None, 0)


class _Copier:
    """One `json_value` walk; `inlining_needed` notes keywords only `resolve_refs` handles.

    Pointers are kept as linked ``(parent, key)`` pairs and spelled out only for a message.
    """

    def __init__(self, where: str, error: type[ToolnavError]):
        self.where = where
        self.error = error
        self.inlining_needed = False

    def copy(self, value: object, parts: Any, depth: int) -> Any:
        kind = type(value)
        if kind is str:
            if not value.isascii() and _SURROGATE.search(value):
                raise self.fail(parts, f"the string {_printable(repr(value[:40]))} has an "
                                "unpaired surrogate, which is not valid Unicode text; fix the "
                                "encoding")
            return value
        if value is None or kind is bool:
            self.inlining_needed = self.inlining_needed or value is False
            return value
        if kind is dict or kind is list or kind is tuple or isinstance(value, Mapping):
            if depth >= MAX_DEPTH:
                raise self.error(f"{self.where} nests more than {MAX_DEPTH} levels deep at "
                                 f"{_spell(parts)[:200]}; flatten it")
            if isinstance(value, Mapping):
                return self.copy_object(value, parts, depth)
            return [self.copy(item, (parts, index), depth + 1)
                    for index, item in enumerate(value)]
        if isinstance(value, str):  # a str subclass
            return self.copy(str(value), parts, depth)
        if isinstance(value, int) and not isinstance(value, bool):
            if not -_MAX_INTEGER < value < _MAX_INTEGER:
                raise self.fail(parts, f"an integer has more than {MAX_INTEGER_DIGITS} digits; "
                                "use a smaller number or a string")
            return int(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.fail(parts, f"{value} is not a JSON number; use a finite number (or "
                                "leave the keyword out)")
            return float(value)
        if isinstance(value, list | tuple):
            return self.copy(list(value), parts, depth)
        raise self.fail(parts, f"a {type(value).__name__} is not a JSON value; use objects, "
                        "arrays, strings, numbers, booleans or null")

    def copy_object(self, value: Mapping[Any, Any], parts: Any, depth: int) -> dict[str, Any]:
        copy = {}
        for key, item in value.items():
            if type(key) is not str:
                if not isinstance(key, str):
                    raise self.fail(parts, f"the key {short_repr(key)} is not a string; JSON "
                                    "object keys are strings")
                key = str(key)
            child = (parts, key)
            if not key.isascii() and _SURROGATE.search(key):
                raise self.fail(child, "this key has an unpaired surrogate, which is not valid "
                                "Unicode text; fix the encoding")
            if key in _INLINED_KEYWORDS:
                self.inlining_needed = True
            copy[key] = self.copy(item, child, depth + 1)
        return copy

    def fail(self, parts: Any, problem: str) -> ToolnavError:
        return self.error(f"{_at(self.where, _spell(parts))}: {problem}")


def _spell(parts: Any) -> str:
    """The JSON pointer of a linked ``(parent, key)`` path."""
    keys = []
    while parts is not None:
        parts, key = parts
        keys.append(key)
    return "#" + "".join(f"/{_escape(str(key))}" for key in reversed(keys))


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _simple_type(value: object) -> bool:
    if isinstance(value, str):
        return value in _SIMPLE_TYPES
    return isinstance(value, list) and bool(value) and len(set(map(str, value))) == len(value) \
        and all(isinstance(item, str) and item in _SIMPLE_TYPES for item in value)


def _schema_map(value: object) -> bool:
    return isinstance(value, dict) and all(_surely_valid(item) for item in value.values())


def _schema_list(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(_surely_valid(item) for item in value)


# jsonschema loads on first need: commands that build no tool (`toolnav tools`) skip its import.
@cache
def _metaschema_validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(Draft202012Validator.META_SCHEMA)


def _metaschema_error(schema: object) -> Any:
    """jsonschema's most relevant metaschema error for *schema*, or None."""
    from jsonschema.exceptions import best_match

    return best_match(_metaschema_validator().iter_errors(schema))


@cache
def _vocabulary() -> frozenset[str]:
    """Every keyword of the 2020-12 vocabularies."""
    from jsonschema_specifications import REGISTRY

    return frozenset(key for uri in REGISTRY if "/draft/2020-12/" in uri
                     for key in REGISTRY.contents(uri).get("properties", {}))


def _surely_valid(schema: object) -> bool:
    """True only if *schema* certainly passes the metaschema; False means "ask jsonschema".

    The common keywords are checked here, as strictly as the metaschema does, ~100x faster
    than jsonschema's 2020-12 metaschema (a congruence test compares the two); any other
    keyword of the 2020-12 vocabulary defers to the full check.
    """
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict):
        return False
    for key, value in schema.items():
        check = _QUICK_CHECKS.get(key)
        if check is None:
            if key in _vocabulary():
                return False
        elif not check(value):
            return False
    return True


_SIMPLE_TYPES = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})
_QUICK_CHECKS: dict[str, Callable[[object], bool]] = {
    "type": _simple_type,
    **dict.fromkeys(("description", "title", "$comment", "format", "pattern", "$ref"),
                    lambda value: isinstance(value, str)),
    **dict.fromkeys(("properties", "patternProperties", "$defs"), _schema_map),
    **dict.fromkeys(("items", "additionalProperties", "not"), _surely_valid),
    **dict.fromkeys(("anyOf", "oneOf", "allOf"), _schema_list),
    "required": lambda value: isinstance(value, list) and len(set(map(str, value))) == len(value)
    and all(isinstance(item, str) for item in value),
    **dict.fromkeys(("enum", "examples"), lambda value: isinstance(value, list)),
    **dict.fromkeys(("const", "default"), lambda value: True),
    **dict.fromkeys(("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"), _number),
    "multipleOf": lambda value: _number(value) and value > 0,
    **dict.fromkeys(("minLength", "maxLength", "minItems", "maxItems", "minProperties",
                     "maxProperties"), _count),
    **dict.fromkeys(("uniqueItems", "deprecated", "readOnly", "writeOnly"),
                    lambda value: isinstance(value, bool)),
}


class _TooLarge(Exception):
    """The inlined schema outgrew MAX_DEPTH or MAX_SCHEMA_NODES (retry with cycles cut sooner)."""


class _Resolver:
    """One inlining pass; `stack` holds the refs being expanded on the current path."""

    def __init__(self, document: Any, where: str, unroll: int, *, in_root: bool):
        self.document = document
        self.where = where
        self.unroll = unroll
        self.nodes = 0
        self.stack: list[str] = ["#"] if in_root else []

    def schema(self, node: Any, pointer: str, depth: int) -> Any:
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_SCHEMA_NODES:
            raise _TooLarge
        if not isinstance(node, dict):
            return node  # true/false, or junk the metaschema check reports
        if "$dynamicRef" in node:
            raise SchemaError(f"{self.where} at {pointer}/$dynamicRef: $dynamicRef is not "
                              "supported; use $ref to a definition under #/$defs")
        if "$ref" in node:
            return self.reference(node, pointer, depth)
        copy: dict[str, Any] = {}
        for key, value in node.items():
            child = f"{pointer}/{_escape(key)}"
            if key in _DEFINITIONS and isinstance(value, dict):
                continue  # inlined where used; nothing refers to them afterwards
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                if key == "patternProperties":
                    for regex in value:
                        self.compile(regex, f"{child}/{_escape(regex)}")
                copy[key] = {name: _unless_false(self.schema(sub, f"{child}/{_escape(name)}",
                                                             depth + 2))
                             for name, sub in value.items()}
            elif (key in _SCHEMA_LISTS or key == "items") and isinstance(value, list):
                copy[key] = [_unless_false(self.schema(sub, f"{child}/{index}", depth + 2))
                             for index, sub in enumerate(value)]
            elif key in _SCHEMA_VALUES:
                copy[key] = self.schema(value, child, depth + 1)
            else:
                if key == "pattern" and isinstance(value, str):
                    self.compile(value, child)
                copy[key] = value
        return copy

    def reference(self, node: dict[str, Any], pointer: str, depth: int) -> Any:
        ref = node["$ref"]
        target, target_pointer = self.target(ref, f"{pointer}/$ref")
        if self.stack.count(ref) > self.unroll:
            resolved = _cut(target)
        else:
            self.stack.append(ref)
            resolved = self.schema(target, target_pointer, depth)
            self.stack.pop()
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        if not siblings:
            return resolved
        if isinstance(resolved, dict) and _ANNOTATIONS.issuperset(siblings):
            return {**resolved, **siblings}
        # Other keywords beside $ref apply together with the target (2020-12): keep both.
        combined = self.schema(siblings, pointer, depth)
        combined["allOf"] = [*combined.get("allOf", []), resolved]
        return combined

    def target(self, ref: object, pointer: str) -> tuple[Any, str]:
        if not isinstance(ref, str):
            raise SchemaError(f"{self.where} at {pointer}: $ref must be a string, got "
                              f"{_printable(repr(ref)[:60])}")
        shown = _printable(repr(ref[:120]))
        if not ref.startswith("#"):
            raise SchemaError(f"{self.where} at {pointer}: $ref {shown} points outside the "
                              "schema, and remote references are not fetched; inline that "
                              "schema or move it under #/$defs")
        fragment = unquote(ref[1:])
        if fragment and not fragment.startswith("/"):
            raise SchemaError(f"{self.where} at {pointer}: $ref {shown} names an anchor, which "
                              "is not supported; use a JSON pointer such as #/$defs/Name")
        target = self.document
        for part in fragment.split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                raise SchemaError(f"{self.where} at {pointer}: $ref {shown} points to nothing "
                                  f"(no {_printable(repr(part[:60]))} there); define it or fix "
                                  "the reference")
        return target, "#" + fragment

    def compile(self, regex: str, pointer: str) -> None:
        try:
            re.compile(regex)
        except (re.error, RecursionError, OverflowError) as error:
            raise SchemaError(f"{self.where} at {pointer}: {_printable(repr(regex[:80]))} is not "
                              f"a valid regular expression ({error}); fix or remove it"
                              ) from None


def _unless_false(schema: Any) -> Any:
    """``false`` as ``{"not": {}}``: same meaning, but jsonschema then reports where it failed."""
    return {"not": {}} if schema is False else schema


def _cut(target: Any) -> Any:
    """The permissive stand-in for a reference that closes a cycle."""
    if not isinstance(target, dict):
        return target
    return {key: target[key] for key in ("type", "description") if key in target}


def _at(where: str, pointer: str) -> str:
    return where if pointer == "#" else f"{where} at {pointer}"


def _escape(key: str) -> str:
    """*key* as a JSON pointer segment, printable (for messages only)."""
    key = key.replace("~", "~0").replace("/", "~1")
    return key if key.isascii() else _printable(key)


def _pointer(parts: Any) -> str:
    return "#" + "".join(f"/{_escape(str(part))}" for part in parts)


def short_repr(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to *limit* characters, safe for any value (for error messages)."""
    try:
        text = repr(value)
    except Exception:  # e.g. ValueError for an integer of more than 4,300 digits
        text = f"<a {type(value).__name__}>"
    return _printable(text if len(text) <= limit else text[: limit - 3] + "...")


def _printable(text: str) -> str:
    """*text* with unpaired surrogates escaped, so it can be printed and written as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
