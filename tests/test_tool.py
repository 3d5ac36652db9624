import pytest

from tests.conftest import make_tool
from toolnav.errors import SchemaError, SourceError
from toolnav.tool import Tool, embedding_text, name_words


def test_content_hash_changes_with_description_and_schema():
    base = make_tool("get_weather", "Weather for a city", city="City name")
    assert base.content_hash == make_tool("get_weather", "Weather for a city",
                                          city="City name").content_hash
    assert base.content_hash != make_tool("get_weather", "Weather now", city="City name"
                                          ).content_hash
    assert base.content_hash != make_tool("get_weather", "Weather for a city", city="Town"
                                          ).content_hash


def test_embedding_text_has_name_words_description_and_parameters():
    text = embedding_text(make_tool("getCityWeather", "Current weather.", unit_system="C or F"))
    assert text.startswith("get city weather")
    assert "Current weather." in text and "unit system: C or F" in text


def test_name_words_splits_camel_and_snake_case():
    assert name_words("getHTTPResponse_v2") == "get http response v2"


@pytest.mark.parametrize("name", ["", None, " padded", "tab\there", "x" * 300])
def test_bad_names_are_refused(name):
    with pytest.raises(SourceError):
        Tool(name=name)


@pytest.mark.parametrize("schema, message", [
    ({"type": "string"}, '"type": "object"'),
    ([], "must be a JSON object"),
    ({"type": "object", "properties": {"a": {"type": "nonsense"}}}, "not a valid JSON Schema"),
])
def test_bad_input_schemas_are_refused(schema, message):
    with pytest.raises(SchemaError, match=message):
        Tool(name="t", input_schema=schema)


def test_round_trip_through_dict():
    tool = Tool(name="t", description="d", tags=("a",), binding={"kind": "python",
                                                                 "target": "m:f"})
    assert Tool.from_dict(tool.to_dict()) == tool


def test_tags_none_means_no_tags_and_a_string_is_one_tag():
    assert Tool(name="t", tags=None).tags == ()
    assert Tool(name="t", tags="weather").tags == ("weather",)
    with pytest.raises(SourceError, match="tags must be a list of strings"):
        Tool(name="t", tags=5)
    with pytest.raises(SourceError, match="tag must be a string"):
        Tool(name="t", tags=["ok", 3])


@pytest.mark.parametrize(("fields", "error", "message"), [
    ({"binding": {"kind": "python", "target": {"a", "b"}}}, SourceError,
     "binding at #/target: a set is not a JSON value"),
    ({"binding": ["python"]}, SourceError, "binding must be a JSON object"),
    ({"input_schema": {"type": "object", "properties": {"a": {"enum": [b"x"]}}}}, SchemaError,
     "input schema at #/properties/a/enum/0: a bytes"),
    ({"output_schema": {"type": "object", "default": object()}}, SchemaError,
     "output schema at #/default"),
    ({"description": "bad \ud800"}, SourceError, "description: .*unpaired surrogate"),
    ({"group": 3}, SourceError, "group must be a string"),
])
def test_non_json_fields_are_refused_naming_the_field(fields, error, message):
    with pytest.raises(error, match=message):
        Tool(name="t", **fields)


def test_tuples_in_schemas_become_lists():
    tool = Tool(name="t", input_schema={"type": "object", "required": ("a",),
                                        "properties": {"a": {"enum": (1, 2)}}})
    assert tool.input_schema["required"] == ["a"]
    assert tool.to_dict()["input_schema"]["properties"]["a"]["enum"] == [1, 2]


def test_surrogate_in_name_is_refused():
    with pytest.raises(SourceError, match="unpaired surrogate"):
        Tool(name="bad\ud800name")


def test_renamed_skips_the_schema_checks(monkeypatch):
    import toolnav.tool

    schema = {"type": "object", "properties": {"x": {"type": "integer"}}}
    tool = Tool(name="t", source="a", input_schema=schema)
    expected = Tool(name="a__t", source="b", input_schema=schema).content_hash
    calls = []
    monkeypatch.setattr(toolnav.tool, "prepare_schema", lambda *args: calls.append(args))
    copy = tool.renamed(name="a__t", source="b")
    assert (copy.name, copy.source, copy.input_schema) == ("a__t", "b", tool.input_schema)
    assert (tool.name, tool.source) == ("t", "a") and calls == []
    assert copy.content_hash == expected
    with pytest.raises(SourceError):
        tool.renamed(name=" bad")
    with pytest.raises(SourceError, match="source must be a string"):
        tool.renamed(source=3)


def test_from_dict_refuses_what_is_not_a_tool_record():
    with pytest.raises(SourceError, match="must be a JSON object"):
        Tool.from_dict(["t"])
    with pytest.raises(SourceError, match="no name"):
        Tool.from_dict({"description": "nameless"})
    assert Tool.from_dict({"name": "t", "tags": None}).tags == ()


def test_the_schema_is_kept_as_written_and_used_inlined():
    written = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
               "$defs": {"C": {"$anchor": "cityDef", "type": "string"}},
               "properties": {"c": {"$ref": "#/$defs/C"}}}
    tool = Tool(name="t", input_schema=written)
    assert tool.input_schema == written
    assert tool.call_schema == {"$schema": written["$schema"], "type": "object",
                                "properties": {"c": {"$anchor": "cityDef", "type": "string"}}}
    loaded = Tool.from_dict(tool.to_dict(), trusted=True)   # as the store loads it
    assert loaded.content_hash == tool.content_hash and loaded.call_schema == tool.call_schema
