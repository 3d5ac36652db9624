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


def test_missing_required_parameters_are_reported_once_each_in_order():
    tool = Tool(name="three", input_schema={
        "type": "object", "required": ["a", "b", "c"],
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {}}})
    with pytest.raises(ValidationFailed) as caught:
        validate_arguments(tool, {})
    assert str(caught.value).splitlines() == [
        "Invalid arguments for tool 'three' (3 problems); fix these and call it again:",
        "- a: required parameter is missing; expected string; given nothing",
        "- b: required parameter is missing; expected integer; given nothing",
        "- c: required parameter is missing; expected any JSON value; given nothing",
    ]


def test_integral_float_for_an_integer_field_arrives_as_int():
    arguments = validate_arguments(TOOL, {"restaurant": "X", "people": 2.0,
                                          "contact": {"age": 40.0}})
    assert arguments["people"] == 2 and type(arguments["people"]) is int
    assert type(arguments["contact"]["age"]) is int
    assert type(validate_arguments(TOOL, {"restaurant": "X", "people": 1,
                                          "budget": 3.0})["budget"]) is float
    with pytest.raises(ValidationFailed, match="people: wrong type"):
        validate_arguments(TOOL, {"restaurant": "X", "people": 2.5})


@pytest.mark.parametrize(("arguments", "problem"), [
    ('{"restaurant": "X", "people": 1' + "0" * 5000 + "}", "integer literal too long"),
    ({"restaurant": "X", "people": 10**5000}, "more than 4000 digits"),
    ('{"restaurant": "X", "people": NaN}', "nan is not a JSON number"),
    ({"restaurant": "X", "people": float("inf")}, "inf is not a JSON number"),
    ({"restaurant": "bad \ud800", "people": 1}, "unpaired surrogate"),
    ('{"restaurant": "\\ud800", "people": 1}', "unpaired surrogate"),
    ("[" * 100_000, "nest too deeply"),
    ({"restaurant": "X", "people": 1, "guests": {"a": {1, 2}}}, "a set is not a JSON value"),
])
def test_arguments_json_cannot_carry_fail_validation_cleanly(arguments, problem):
    with pytest.raises(ValidationFailed, match=problem) as caught:
        validate_arguments(TOOL, arguments)
    str(caught.value).encode("utf-8")  # printable and writable: no lone surrogate inside


def test_huge_integer_string_is_left_for_validation_to_report():
    with pytest.raises(ValidationFailed, match="people: wrong type"):
        validate_arguments(TOOL, {"restaurant": "X", "people": "9" * 5000})


def test_boolean_subschema_gives_a_message_not_a_crash():
    tool = Tool(name="t", input_schema={"type": "object", "properties": {
        "legacy": False, "anything": True, "n": {"type": "integer"}}})
    with pytest.raises(ValidationFailed) as caught:
        validate_arguments(tool, {"legacy": 1, "anything": [1], "n": 1})
    assert caught.value.issues == [{"path": "legacy", "problem": "parameter is not accepted",
                                    "expected": "no value (leave it out)",
                                    "given": "integer 1"}]


def test_multiple_of_with_a_huge_integer_is_reported_not_raised():
    tool = Tool(name="t", input_schema={"type": "object", "properties": {
        "n": {"type": "number", "multipleOf": 0.5}}})
    with pytest.raises(ValidationFailed):
        validate_arguments(tool, {"n": 10**400 + 1})


def test_recursive_schema_validates_to_the_cut():
    tool = Tool(name="tree", input_schema={
        "type": "object", "properties": {"root": {"$ref": "#/$defs/Node"}},
        "$defs": {"Node": {"type": "object", "properties": {
            "value": {"type": "integer"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}}})
    with pytest.raises(ValidationFailed) as caught:
        validate_arguments(tool, {"root": {"value": 1, "children": [{"value": "x"}]}})
    assert [issue["path"] for issue in caught.value.issues] == ["root.children[0].value"]
