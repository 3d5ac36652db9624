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
