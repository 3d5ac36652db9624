"""Property tests: whatever a tool source, a model or a Python caller sends, every exception that
escapes the public API is a `ToolnavError` with a printable message, and nothing hangs.

Derandomized (the same cases every run), no example database; 10,500 cases in all.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.property.strategies import (
    JSON_VALUES,
    OBJECT_SCHEMAS,
    SUBSCHEMAS,
    TEXT,
    TOOL_RECORDS,
    VALUES,
)
from toolnav.catalog import Catalog
from toolnav.catalog.sources import load_source
from toolnav.errors import ToolnavError
from toolnav.render import render_tools
from toolnav.schema import _surely_valid, json_value
from toolnav.tool import Tool, embedding_text
from toolnav.validate import coerce_arguments, validate_arguments

pytestmark = pytest.mark.timeout(120)

METASCHEMA = Draft202012Validator(Draft202012Validator.META_SCHEMA)
SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
           HealthCheck.large_base_example, HealthCheck.function_scoped_fixture]


def cases(count: int) -> settings:
    return settings(max_examples=count, derandomize=True, database=None, deadline=None,
                    suppress_health_check=SLOW_OK,
                    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink))


def clean(call, *args, **kwargs):
    """The call's result, or None if it raised a proper ToolnavError; anything else fails."""
    try:
        return call(*args, **kwargs)
    except ToolnavError as error:
        message = str(error)
        assert message.strip(), f"{type(error).__name__} without a message"
        message.encode("utf-8")  # printable, loggable: no lone surrogates
        return None


def build(record: dict) -> Tool | None:
    return clean(Tool, name=record["name"], description=record["description"],
                 input_schema=record["parameters"], tags=record.get("tags"))


def use(tool: Tool, arguments: object) -> None:
    """Everything downstream of the catalog, on one tool."""
    clean(validate_arguments, tool, arguments)
    clean(validate_arguments, tool, arguments, allow_unknown=True)
    if isinstance(arguments, str | dict):
        clean(validate_arguments, tool, json.dumps(arguments) if isinstance(arguments, dict)
              and _is_json(arguments) else arguments)
    coerce_arguments(arguments, tool.call_schema)
    for provider in ("openai", "anthropic", "mcp"):
        rendered = render_tools([tool], provider=provider, budget=50)
        json.dumps(rendered.payload, allow_nan=False).encode("utf-8")
    embedding_text(tool).encode("utf-8")
    json.dumps(tool.to_dict(), allow_nan=False).encode("utf-8")
    assert Tool.from_dict(tool.to_dict()).content_hash == tool.content_hash


def as_json_text(value: object) -> str:
    """JSON text as a hostile file would hold it: NaN, lone surrogate escapes, huge integers."""
    huge: list[int] = []

    def encode(item: object) -> object:
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) >= 10**4000:
            huge.append(item)
            return f"__huge_{len(huge) - 1}__"
        if isinstance(item, dict):
            return {str(key): encode(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [encode(inner) for inner in item]
        return item if item is None or isinstance(item, str | int | float) else repr(item)

    text = json.dumps(encode(value), ensure_ascii=True)
    for index, number in enumerate(huge):  # written digit by digit: str() refuses them
        digits = "-1" if number < 0 else "1"
        text = text.replace(f'"__huge_{index}__"', digits + "0" * 4400)
    return text


def _is_json(value: object) -> bool:
    try:
        json_value(value, "value")
    except ToolnavError:
        return False
    return True


@cases(2500)
@given(TOOL_RECORDS)
def test_tool_construction_raises_only_toolnav_errors(record):
    tool = build(record)
    if tool is not None:
        assert tool.input_schema["type"] == "object"
        assert "$ref" not in json.dumps(tool.call_schema)


FIXED_TOOLS = [Tool(name=name, input_schema=schema) for name, schema in {
    "tree": {"type": "object", "required": ["root"], "properties": {"root": {"$ref": "#/$defs/N"}},
             "$defs": {"N": {"type": "object", "properties": {
                 "value": {"type": "integer", "multipleOf": 0.5, "maximum": 10},
                 "kids": {"type": "array", "items": {"$ref": "#/$defs/N"}}}}}},
    "legacy": {"type": "object", "properties": {"legacy": False, "any": True,
                                                "n": {"type": ["integer", "null"]}}},
    "formats": {"type": "object", "required": ["a", "b", "c"], "properties": {
        "a": {"type": "string", "pattern": "^[a-z]{1,8}$", "maxLength": 8},
        "b": {"enum": [1, "x", None, [1], {"k": 1.5}]},
        "c": {"type": "array", "items": {"type": "number"}, "uniqueItems": True}},
               "patternProperties": {"^x-": {"type": "boolean"}}},
    "root": {"type": "object", "properties": {"self": {"$ref": "#"}, "s": {"type": "string"}},
             "additionalProperties": {"type": "object"}},
}.items()]


@cases(3500)
@given(st.sampled_from(FIXED_TOOLS), st.one_of(
    st.dictionaries(st.sampled_from(["root", "legacy", "any", "n", "a", "b", "c", "x-y", "self",
                                     "s", "value", "kids"]) | TEXT, VALUES, max_size=4),
    VALUES, TEXT))
def test_arguments_against_fixed_tools(tool, arguments):
    clean(validate_arguments, tool, arguments)
    coerce_arguments(arguments, tool.call_schema)


@cases(800)
@given(OBJECT_SCHEMAS, st.one_of(st.dictionaries(TEXT, VALUES, max_size=3), VALUES, TEXT))
def test_arguments_against_any_accepted_schema(schema, arguments):
    tool = clean(Tool, name="t", input_schema=schema)
    if tool is not None:
        use(tool, arguments)


@cases(1500)
@given(SUBSCHEMAS, JSON_VALUES)
def test_coerce_arguments_never_raises_on_raw_schemas(schema, value):
    coerce_arguments(value, schema)


@cases(1000)
@given(st.dictionaries(st.sampled_from(["name", "description", "input_schema", "output_schema",
                                        "source", "tags", "group", "binding"]), VALUES,
                       max_size=8) | VALUES)
def test_from_dict_raises_only_toolnav_errors(data):
    clean(Tool.from_dict, data)


@cases(500)
@given(st.one_of(OBJECT_SCHEMAS, SUBSCHEMAS))
def test_fast_metaschema_check_agrees_with_jsonschema(schema):
    try:
        plain = json_value(schema, "schema")
    except ToolnavError:
        return
    if _surely_valid(plain):
        assert METASCHEMA.is_valid(plain)


@cases(400)
@given(st.lists(TOOL_RECORDS, max_size=4), st.sampled_from([".json", ".jsonl", "raw"]),
       TEXT)
def test_load_source_on_generated_files_raises_only_toolnav_errors(tmp_path_factory, records,
                                                                  kind, junk):
    folder = tmp_path_factory.getbasetemp()
    if kind == ".jsonl":
        text = "\n".join(as_json_text(record) for record in records)
    elif kind == ".json":
        text = as_json_text(records)
    else:
        text = as_json_text(records)[: len(junk) * 7] + junk
    path = folder / f"tools{'.json' if kind == 'raw' else kind}"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    source = clean(load_source, path, name="generated")
    for tool in source.tools if source else []:
        use(tool, {})


@cases(300)
@given(st.lists(TOOL_RECORDS | VALUES, max_size=3))
def test_add_tools_given_anything_raises_only_toolnav_errors(tmp_path_factory, items):
    with Catalog.open(tmp_path_factory.getbasetemp() / "add_tools") as catalog:
        change = clean(catalog.add_tools, items, source="generated")
        if change is not None:
            assert len(catalog) == len(change.added) + change.unchanged + len(change.updated)
