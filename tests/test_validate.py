"""Validation: safe coercions, one issue per failing parameter, unknown properties."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_DATA, requires_shared_data
from toolnav.errors import ValidationFailed
from toolnav.tool import Tool
from toolnav.validate import validate_arguments

pytestmark = pytest.mark.timeout(30)

TOOL = Tool(name="book_table", description="Book a table", input_schema={
    "type": "object",
    "properties": {
        "restaurant": {"type": "string", "description": "Restaurant name"},
        "people": {"type": "integer", "minimum": 1, "maximum": 12},
        "budget": {"type": "number"},
        "terrace": {"type": "boolean"},
        "time": {"type": "string", "enum": ["lunch", "dinner"]},
        "guests": {"type": "array", "items": {"type": "string"}},
        "contact": {"type": "object", "properties": {"phone": {"type": "string"},
                                                     "age": {"type": "integer"}}},
    },
    "required": ["restaurant", "people"],
})


def test_valid_arguments_pass_unchanged():
    args = {"restaurant": "Chez Paul", "people": 2, "time": "dinner"}
    assert validate_arguments(TOOL, args) == args


def test_safe_coercions():
    result = validate_arguments(TOOL, {
        "restaurant": "X", "people": "4", "budget": "2.5", "terrace": "true",
        "guests": '["ann", "bob"]', "contact": '{"phone": "123", "age": "40"}'})
    assert result == {"restaurant": "X", "people": 4, "budget": 2.5, "terrace": True,
                      "guests": ["ann", "bob"], "contact": {"phone": "123", "age": 40}}


@pytest.mark.parametrize("value", ["4.5", "four", "", "1e3"])
def test_unsafe_integer_strings_are_not_coerced(value):
    with pytest.raises(ValidationFailed) as caught:
        validate_arguments(TOOL, {"restaurant": "X", "people": value})
    assert caught.value.issues[0]["path"] == "people"


def test_string_field_keeps_numeric_text():
    assert validate_arguments(TOOL, {"restaurant": "42", "people": 1})["restaurant"] == "42"


def test_every_failing_parameter_is_listed():
    with pytest.raises(ValidationFailed) as caught:
        validate_arguments(TOOL, {"people": 40, "time": "breakfast", "terrace": "yes",
                                  "colour": "red"})
    issues = {issue["path"]: issue for issue in caught.value.issues}
    assert set(issues) == {"restaurant", "people", "time", "terrace", "colour"}
    assert issues["restaurant"]["problem"] == "required parameter is missing"
    assert "Restaurant name" in issues["restaurant"]["expected"]
    assert issues["people"]["expected"] == "<= 12" and issues["people"]["given"] == "integer 40"
    assert issues["time"]["expected"] == 'one of "lunch", "dinner"'
    assert issues["terrace"]["expected"] == "boolean"
    assert issues["terrace"]["given"] == 'string "yes"'
    assert issues["colour"]["problem"] == "unknown parameter"
    message = str(caught.value)
    assert caught.value.tool == "book_table"
    for name in issues:
        assert f"- {name}:" in message


def test_nested_errors_name_the_nested_path():
    with pytest.raises(ValidationFailed) as caught:
        validate_arguments(TOOL, {"restaurant": "X", "people": 1, "guests": ["a", 3]})
    assert caught.value.issues[0]["path"] == "guests[1]"


def test_unknown_properties_can_be_allowed():
    args = {"restaurant": "X", "people": 1, "extra": True}
    assert validate_arguments(TOOL, args, allow_unknown=True) == args
    open_tool = Tool(name="t", input_schema={"type": "object", "properties": {},
                                             "additionalProperties": True})
    assert validate_arguments(open_tool, {"anything": 1}) == {"anything": 1}


def test_json_string_arguments_and_malformed_json():
    assert validate_arguments(TOOL, '{"restaurant": "X", "people": 3}')["people"] == 3
    with pytest.raises(ValidationFailed, match="not valid JSON"):
        validate_arguments(TOOL, '{"restaurant": ')
    with pytest.raises(ValidationFailed, match="must be a JSON object"):
        validate_arguments(TOOL, [1, 2])


@requires_shared_data("seal_tools")
def test_seal_tools_gold_calls_pass_except_known_bad_labels():
    import json

    folder = SHARED_DATA / "seal_tools"
    tools = {}
    for line in (folder / "tools.jsonl").read_text().splitlines():
        record = json.loads(line)
        tools[record["name"]] = Tool(name=record["name"], input_schema=record["parameters"])
    rejected = []
    calls = [call for line in (folder / "queries.jsonl").read_text().splitlines()
             for call in json.loads(line)["calls"]]
    for call in calls:
        try:
            validate_arguments(tools[call["name"]], call["arguments"])
        except ValidationFailed as error:
            rejected.append(error.issues[0])
    # 22 known bad labels (bench/validate.py lists them): all are type mismatches.
    assert len(calls) > 3000 and len(rejected) <= 22
    assert all(issue["problem"] == "wrong type" for issue in rejected)
