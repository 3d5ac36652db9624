import json
import textwrap

import pytest

from toolnav.catalog.sources import load_source, source_name_for
from toolnav.catalog.sources.python import resolve_target, tool_from_callable
from toolnav.errors import SchemaError, SourceError

OPENAI_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("document", [
    [OPENAI_TOOL],
    {"tools": [OPENAI_TOOL]},
    [OPENAI_TOOL["function"]],
    [{"name": "get_weather", "description": "Weather for a city",
      "inputSchema": OPENAI_TOOL["function"]["parameters"]}],
])
def test_openai_and_mcp_shapes_give_the_same_tool(tmp_path, document):
    source = load_source(write(tmp_path / "weather.json", json.dumps(document)))
    assert source.name == "weather"
    (tool,) = source.tools
    assert tool.name == "get_weather" and tool.source == "weather"
    assert tool.input_schema["required"] == ["city"]


def test_jsonl_dataset_directory_takes_folder_name_and_tags(tmp_path):
    folder = tmp_path / "mini_set"
    folder.mkdir()
    lines = [{"name": "a", "description": "first", "parameters": {"type": "object"},
              "category": "Sports"}, {"name": "b", "description": "second"}]
    write(folder / "tools.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n\n")
    source = load_source(folder)
    assert source.name == "mini_set" and [t.name for t in source.tools] == ["a", "b"]
    assert source.tools[0].tags == ("Sports",)


def test_malformed_json_names_line_and_column(tmp_path):
    path = write(tmp_path / "bad.json", '[\n  {"name": "a",\n   "description": }\n]')
    with pytest.raises(SourceError, match=r"bad.json: malformed JSON at line 3, column 19"):
        load_source(path)


def test_malformed_jsonl_names_the_line(tmp_path):
    path = write(tmp_path / "t.jsonl", '{"name": "a"}\n{"name": "b",}\n')
    with pytest.raises(SourceError, match=r"line 2, column 14"):
        load_source(path)


def test_parameters_that_are_not_an_object_schema(tmp_path):
    path = write(tmp_path / "t.json", json.dumps([{"name": "a", "parameters": {"type": "array"}}]))
    with pytest.raises(SchemaError, match=r"tool #0: tool 'a': input schema must have"):
        load_source(path)


def test_tool_without_a_name(tmp_path):
    path = write(tmp_path / "t.json", json.dumps([{"description": "nameless"}]))
    with pytest.raises(SourceError, match=r"tool #0: a tool has no name"):
        load_source(path)


def test_duplicate_names_in_one_source(tmp_path):
    path = write(tmp_path / "t.jsonl", '{"name": "a"}\n{"name": "b"}\n{"name": "a"}\n')
    with pytest.raises(SourceError, match=r"t.jsonl:3: duplicate tool name 'a' \(first defined "
                                          r"at .*t.jsonl:1\)"):
        load_source(path)


def test_non_utf8_file(tmp_path):
    path = tmp_path / "t.json"
    path.write_bytes(b'[{"name": "caf\xe9"}]')
    with pytest.raises(SourceError, match=r"not UTF-8 text \(invalid byte 0xe9 at line 1"):
        load_source(path)


def test_missing_and_unknown_sources(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        load_source(tmp_path / "absent.json")
    with pytest.raises(SourceError, match="unknown source kind"):
        load_source(write(tmp_path / "tools.txt", "hello"))


def test_source_names():
    assert source_name_for("python:pkg.weather") == "weather"
    assert source_name_for("/x/seal_tools/tools.jsonl") == "seal_tools"
    assert source_name_for("/x/crm.json") == "crm"


def _documented(city: str, days: int = 3, units: str | None = None) -> dict:
    """Forecast for a city.

    Args:
        city: The city, e.g. Paris.
        days: How many days
            ahead to forecast.
        units: metric or imperial.

    Returns:
        The forecast.
    """
    return {"city": city, "days": days}


def test_python_callable_schema_and_descriptions():
    tool = tool_from_callable(_documented)
    assert tool.description == "Forecast for a city."
    properties = tool.input_schema["properties"]
    assert properties["city"] == {"type": "string", "description": "The city, e.g. Paris."}
    assert properties["days"]["type"] == "integer" and properties["days"]["default"] == 3
    assert properties["days"]["description"] == "How many days ahead to forecast."
    assert tool.input_schema["required"] == ["city"]
    assert resolve_target(tool.binding["target"]) is _documented


def test_python_module_file_source(tmp_path):
    module = write(tmp_path / "mytools.py", textwrap.dedent('''
        def greet(name: str) -> str:
            """Say hello."""
            return "hi " + name

        def _private():
            pass
    '''))
    source = load_source(module)
    assert [t.name for t in source.tools] == ["greet"]
    assert resolve_target(source.tools[0].binding["target"])("ann") == "hi ann"


def test_positional_only_parameters_are_recorded():
    import math

    tool = tool_from_callable(math.sqrt)
    assert tool.binding == {"kind": "python", "target": "math:sqrt", "positional": ["x"]}


def test_python_module_that_does_not_import(tmp_path):
    with pytest.raises(SourceError, match="raised ZeroDivisionError"):
        load_source(write(tmp_path / "broken.py", "1 / 0\n"))
    with pytest.raises(SourceError, match="cannot import 'no_such_module_xyz'"):
        load_source("python:no_such_module_xyz")


def test_string_annotations_are_resolved(tmp_path):
    module = write(tmp_path / "postponed.py", textwrap.dedent('''
        from __future__ import annotations
        from typing import Literal

        def convert(value: float, unit: Literal["C", "F"] = "C") -> float:
            """Convert a temperature."""
            return value
    '''))
    (tool,) = load_source(module).tools
    assert tool.input_schema["properties"]["unit"]["enum"] == ["C", "F"]
    assert tool.input_schema["properties"]["value"]["type"] == "number"


def test_lone_surrogate_in_a_tools_file_is_a_source_error(tmp_path):
    path = write(tmp_path / "t.json", '[{"name": "a", "description": "bad \\ud800 text"}]')
    with pytest.raises(SourceError, match=r"tool #0: tool 'a': description: .*unpaired"):
        load_source(path)


def test_huge_integer_literal_in_a_tools_file_is_a_source_error(tmp_path):
    path = write(tmp_path / "t.jsonl", '{"name": "a", "parameters": {"type": "object", '
                 '"maxProperties": 1' + "0" * 5000 + "}}\n")
    with pytest.raises(SourceError, match="an integer literal at line 1 has more than 4,300 "
                                          "digits"):
        load_source(path)
    deep = write(tmp_path / "deep.json", "[" * 100_000)
    with pytest.raises(SourceError, match="nests too deeply"):
        load_source(deep)


def test_nan_in_a_tools_file_is_a_schema_error_naming_the_pointer(tmp_path):
    path = write(tmp_path / "t.json", '[{"name": "a", "parameters": {"type": "object", '
                 '"properties": {"n": {"type": "number", "maximum": NaN}}}}]')
    with pytest.raises(SchemaError, match="tool #0: tool 'a': input schema at "
                                          "#/properties/n/maximum: nan is not a JSON number"):
        load_source(path)


def test_python_defaults_and_models_become_safe_schemas(tmp_path):
    module = write(tmp_path / "plots.py", textwrap.dedent('''
        from pydantic import BaseModel

        class Point(BaseModel):
            x: int
            y: int

        def plot(to: Point, path: list[Point], scale: float = float("nan"),
                 marks: tuple = (1, 2), seen: frozenset = frozenset()):
            """Plot."""
    '''))
    (tool,) = load_source(module).tools
    schema = tool.call_schema["properties"]
    assert "default" not in schema["scale"] and "default" not in schema["seen"]
    assert schema["marks"]["default"] == [1, 2]
    assert schema["to"]["required"] == ["x", "y"]
    assert schema["to"]["properties"]["x"]["type"] == "integer"
    assert schema["path"]["items"]["properties"] == schema["to"]["properties"]
    assert "$defs" not in tool.call_schema and "$defs" in tool.input_schema
