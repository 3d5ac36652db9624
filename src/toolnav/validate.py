"""Check call arguments against a tool's input schema (JSON Schema 2020-12), with safe coercions.

Only lossless coercions are applied before validation: ``"5"`` → ``5`` for an integer field,
``"2.5"`` → ``2.5`` for a number, ``"true"``/``"false"`` for a boolean, and a JSON string that
holds the expected object or array → the parsed value. Unknown top-level properties are
rejected unless the schema allows them explicitly (``additionalProperties``) or the caller
passes ``allow_unknown=True``. Failures raise `ValidationFailed` whose message lists every
failing parameter with what was expected and what was given, so a model can repair the call.

Example:
    arguments = validate_arguments(tool, {"city": "Paris", "days": "3"})   # days -> 3
    message = str(error)   # in `except ValidationFailed as error`, ready to send back to the LLM
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from toolnav.errors import ValidationFailed
from toolnav.tool import Tool

__all__ = ["coerce_arguments", "validate_arguments"]

_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
               float: "number", type(None): "null"}
_GIVEN_CHARS = 80


def validate_arguments(tool: Tool, arguments: object, *, allow_unknown: bool = False
                       ) -> dict[str, Any]:
    """Coerce and validate *arguments* for *tool*.

    Args:
        tool: the tool being called.
        arguments: the call's arguments (a JSON object), or a JSON string holding one.
        allow_unknown: accept top-level properties the schema does not declare.

    Returns:
        The arguments after safe coercions.

    Raises:
        ValidationFailed: one or more parameters are wrong; ``issues`` has one entry each.
    """
    if isinstance(arguments, str):
        arguments = _parse_json_object(tool.name, arguments)
    if not isinstance(arguments, Mapping):
        issue = {"path": "(arguments)", "problem": "arguments must be a JSON object",
                 "expected": "object", "given": _describe(arguments)}
        raise ValidationFailed(_message(tool.name, [issue]), tool=tool.name, issues=[issue])
    schema = dict(tool.input_schema)
    if not allow_unknown and "additionalProperties" not in schema \
            and "patternProperties" not in schema:
        schema["additionalProperties"] = False
    coerced = coerce_arguments(dict(arguments), schema)
    errors = sorted(Draft202012Validator(schema).iter_errors(coerced),
                    key=lambda error: list(map(str, error.absolute_path)))
    if not errors:
        return coerced
    issues = [issue for error in errors for issue in _issues_for(error, schema)]
    raise ValidationFailed(_message(tool.name, issues), tool=tool.name, issues=issues)


def coerce_arguments(value: Any, schema: Mapping[str, Any]) -> Any:
    """Apply the safe coercions to *value* (recursively through objects and arrays)."""
    types = _types_of(schema)
    if isinstance(value, str) and "string" not in types:
        value = _coerce_string(value, types)
    if isinstance(value, dict):
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            return {key: coerce_arguments(item, properties[key])
                    if isinstance(properties.get(key), Mapping) else item
                    for key, item in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [coerce_arguments(item, schema["items"]) for item in value]
    return value


def _types_of(schema: Mapping[str, Any]) -> set[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    return set(declared) if isinstance(declared, list) else set()


def _coerce_string(text: str, types: set[str]) -> Any:
    stripped = text.strip()
    if "integer" in types and _INTEGER.match(stripped):
        return int(stripped)
    if "number" in types and _NUMBER.match(stripped):
        number = float(stripped)
        return int(number) if number.is_integer() and "." not in stripped else number
    if "boolean" in types and stripped in ("true", "false"):
        return stripped == "true"
    if types & {"object", "array"} and stripped[:1] in ("{", "["):
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError:
            return text
        if _JSON_TYPES.get(type(parsed)) in types:
            return parsed
    return text


def _parse_json_object(tool: str, text: str) -> Any:
    try:
        return json.loads(text or "{}")
    except json.JSONDecodeError as error:
        issue = {"path": "(arguments)", "problem": f"arguments are not valid JSON ({error.msg} "
                 f"at column {error.colno})", "expected": "a JSON object",
                 "given": _shorten(text)}
        raise ValidationFailed(_message(tool, [issue]), tool=tool, issues=[issue]) from None


def _issues_for(error: ValidationError, schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One issue per failing parameter, in the words a model can act on."""
    path = _path(error.absolute_path)
    keyword = error.validator
    if keyword == "required":
        present = error.instance if isinstance(error.instance, Mapping) else {}
        properties = error.schema.get("properties") or {}
        return [{"path": _join(path, name), "problem": "required parameter is missing",
                 "expected": _expected(properties.get(name) or {}), "given": "nothing"}
                for name in error.validator_value if name not in present]
    if keyword == "additionalProperties":
        declared = set(error.schema.get("properties") or {})
        allowed = ", ".join(sorted(declared)) or "none"
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        return [{"path": _join(path, name), "problem": "unknown parameter",
                 "expected": f"one of the declared parameters: {allowed}",
                 "given": _describe(instance[name])}
                for name in instance if name not in declared]
    return [{"path": path or "(arguments)", "problem": _problem(error),
             "expected": _expected(error.schema, keyword, error.validator_value),
             "given": _describe(error.instance)}]


def _problem(error: ValidationError) -> str:
    problems = {
        "type": "wrong type", "enum": "value not allowed", "const": "value not allowed",
        "minimum": "too small", "exclusiveMinimum": "too small", "maximum": "too large",
        "exclusiveMaximum": "too large", "minLength": "too short", "maxLength": "too long",
        "minItems": "too few items", "maxItems": "too many items", "pattern": "wrong format",
        "format": "wrong format", "uniqueItems": "items must be unique",
    }
    return problems.get(str(error.validator), error.message)


def _expected(schema: Mapping[str, Any], keyword: str | None = None, value: Any = None) -> str:
    bounds = {"minimum": ">= {}", "exclusiveMinimum": "> {}", "maximum": "<= {}",
              "exclusiveMaximum": "< {}", "minLength": "at least {} characters",
              "maxLength": "at most {} characters", "minItems": "at least {} items",
              "maxItems": "at most {} items", "pattern": "a string matching {}",
              "format": "format {}"}
    if keyword in bounds:
        return bounds[keyword].format(json.dumps(value))
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(option) for option in schema["enum"])
    if "const" in schema:
        return f"exactly {json.dumps(schema['const'])}"
    types = schema.get("type")
    text = " or ".join(types) if isinstance(types, list) else str(types or "any JSON value")
    description = str(schema.get("description") or "").strip()
    return f"{text} ({_shorten(description, 60)})" if description else text


def _describe(value: Any) -> str:
    kind = _JSON_TYPES.get(type(value), type(value).__name__)
    try:
        shown = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        shown = repr(value)
    return f"{kind} {_shorten(shown)}"


def _shorten(text: str, limit: int = _GIVEN_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _message(tool: str, issues: list[dict[str, Any]]) -> str:
    lines = [f"Invalid arguments for tool {tool!r} ({len(issues)} problem"
             f"{'s' if len(issues) != 1 else ''}); fix these and call it again:"]
    lines += [f"- {issue['path']}: {issue['problem']}; expected {issue['expected']}; "
              f"given {issue['given']}" for issue in issues]
    return "\n".join(lines)
