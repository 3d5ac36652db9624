"""Check call arguments against a tool's input schema (JSON Schema 2020-12), with safe coercions.

Only lossless coercions are applied before validation: ``"5"`` → ``5`` and ``5.0`` → ``5`` for
an integer field (JSON Schema counts 5.0 as an integer; the function gets an `int`), ``"2.5"``
→ ``2.5`` for a number, ``"true"``/``"false"`` for a boolean, and a JSON string that holds the
expected object or array → the parsed value. Arguments must be plain JSON (see
`toolnav.schema.json_value`: no NaN, no unpaired surrogates, no integers of thousands of
digits). Unknown top-level properties are rejected unless the schema allows them explicitly
(``additionalProperties``) or the caller passes ``allow_unknown=True``. Failures raise
`ValidationFailed` whose message lists every failing parameter with what was expected and what
was given, so a model can repair the call.

Example:
    arguments = validate_arguments(tool, {"city": "Paris", "days": "3"})   # days -> 3
    message = str(error)   # in `except ValidationFailed as error`, ready to send back to the LLM
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from toolnav.errors import ValidationFailed
from toolnav.schema import MAX_INTEGER_DIGITS, json_value
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
    try:
        arguments = json_value(arguments, "arguments", ValidationFailed)
    except ValidationFailed as error:
        issue = {"path": "(arguments)", "problem": str(error), "expected": "plain JSON values",
                 "given": "a value JSON cannot carry"}
        raise ValidationFailed(_message(tool.name, [issue]), tool=tool.name,
                               issues=[issue]) from None
    if not isinstance(arguments, Mapping):
        issue = {"path": "(arguments)", "problem": "arguments must be a JSON object",
                 "expected": "object", "given": _describe(arguments)}
        raise ValidationFailed(_message(tool.name, [issue]), tool=tool.name, issues=[issue])
    schema = dict(tool.call_schema)
    if not allow_unknown and "additionalProperties" not in schema \
            and "patternProperties" not in schema:
        schema["additionalProperties"] = False
    coerced = coerce_arguments(dict(arguments), schema)
    try:
        errors = sorted(Draft202012Validator(schema).iter_errors(coerced),
                        key=lambda error: list(map(str, error.absolute_path)))
    except ArithmeticError:  # jsonschema's multipleOf divides, and a huge integer overflows
        issue = {"path": "(arguments)", "problem": "a number is too large to check",
                 "expected": "numbers within the float range", "given": "a huge number"}
        raise ValidationFailed(_message(tool.name, [issue]), tool=tool.name,
                               issues=[issue]) from None
    if not errors:
        return coerced
    # jsonschema reports each missing required name separately, and each report lists them all.
    issues = _unique([issue for error in errors for issue in _issues_for(error, schema)])
    raise ValidationFailed(_message(tool.name, issues), tool=tool.name, issues=issues)


def coerce_arguments(value: Any, schema: Mapping[str, Any]) -> Any:
    """Apply the safe coercions to *value* (recursively through objects and arrays).

    Args:
        value: an argument value (plain JSON).
        schema: the schema it should match; parts that are not schemas are ignored.

    Returns:
        The coerced value (*value* itself when nothing applies).
    """
    if not isinstance(schema, Mapping):
        return value
    types = _types_of(schema)
    if isinstance(value, str) and "string" not in types:
        value = _coerce_string(value, types)
    if isinstance(value, float) and "integer" in types and "number" not in types \
            and value.is_integer():
        return int(value)
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
    return {item for item in declared if isinstance(item, str)} \
        if isinstance(declared, list) else set()


def _coerce_string(text: str, types: set[str]) -> Any:
    stripped = text.strip()
    if len(stripped) > MAX_INTEGER_DIGITS:
        return text  # too long for a number; validation reports the string
    if "integer" in types and _INTEGER.match(stripped):
        return int(stripped)
    if "number" in types and _NUMBER.match(stripped):
        number = float(stripped)
        if not math.isfinite(number):
            return text
        return int(number) if number.is_integer() and "." not in stripped else number
    if "boolean" in types and stripped in ("true", "false"):
        return stripped == "true"
    if types & {"object", "array"} and stripped[:1] in ("{", "["):
        try:
            parsed = json_value(json.loads(stripped), "argument", ValidationFailed)
        except (ValueError, RecursionError):  # ValidationFailed is a ValueError
            return text
        if _JSON_TYPES.get(type(parsed)) in types:
            return parsed
    return text


def _parse_json_object(tool: str, text: str) -> Any:
    try:
        return json.loads(text or "{}")
    except json.JSONDecodeError as error:
        problem = f"arguments are not valid JSON ({error.msg} at column {error.colno})"
    except ValueError:  # Python refuses integer literals of more than 4,300 digits
        problem = "arguments hold an integer literal too long to read"
    except RecursionError:
        problem = "arguments nest too deeply to read"
    issue = {"path": "(arguments)", "problem": problem, "expected": "a JSON object",
             "given": _describe(text)}
    raise ValidationFailed(_message(tool, [issue]), tool=tool, issues=[issue])


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
    if keyword == "not" and error.validator_value == {}:  # `false` in toolnav.schema's form
        return [{"path": path or "(arguments)", "problem": "parameter is not accepted",
                 "expected": "no value (leave it out)", "given": _describe(error.instance)}]
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


def _expected(schema: object, keyword: str | None = None, value: Any = None) -> str:
    if not isinstance(schema, Mapping):  # a boolean subschema
        return "any JSON value" if schema is True else "nothing (this value is not accepted)"
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
    except (TypeError, ValueError, RecursionError):
        shown = "(not JSON)"
    # Escape unpaired surrogates: the message must be printable and writable as UTF-8.
    shown = shown.encode("utf-8", "backslashreplace").decode("utf-8")
    return f"{kind} {_shorten(shown)}"


def _unique(issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    unique = []
    for issue in issues:
        key = json.dumps(issue, sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append(issue)
    return unique


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
