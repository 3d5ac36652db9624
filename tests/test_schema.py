"""toolnav.schema: schemas are made plain, valid, ref-free and bounded before anything uses them."""

from __future__ import annotations

import json
import math

import pytest
from jsonschema import Draft202012Validator

from toolnav.errors import SchemaError, SourceError
from toolnav.schema import MAX_DEPTH, _surely_valid, json_value, prepare_schema, resolve_refs

pytestmark = pytest.mark.timeout(30)

METASCHEMA = Draft202012Validator(Draft202012Validator.META_SCHEMA)

WHERE = "tool 't': input schema"
NODE = {"type": "object", "description": "a tree node", "properties": {
    "value": {"type": "integer"},
    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}


def obj(**properties):
    return {"type": "object", "properties": properties}


def nested(levels: int) -> dict:
    schema: dict = {"type": "string"}
    for _ in range(levels):
        schema = obj(a=schema)
    return schema


def test_local_refs_are_inlined_and_definitions_dropped():
    schema = {**obj(city={"$ref": "#/$defs/City"}, alias={"$ref": "#/definitions/Alias"}),
              "$defs": {"City": {"type": "string", "minLength": 1}},
              "definitions": {"Alias": {"type": "string"}}}
    assert prepare_schema(schema, WHERE) == obj(city={"type": "string", "minLength": 1},
                                                alias={"type": "string"})


def test_recursive_definition_keeps_two_levels_then_is_cut():
    prepared = prepare_schema({**obj(root={"$ref": "#/$defs/Node"}), "$defs": {"Node": NODE}},
                              WHERE)
    root = prepared["properties"]["root"]
    child = root["properties"]["children"]["items"]
    grandchild = child["properties"]["children"]["items"]
    assert root["description"] == child["description"] == "a tree node"
    assert grandchild == {"type": "object", "description": "a tree node"}  # the cut
    assert "$ref" not in json.dumps(prepared)
    validator = Draft202012Validator(prepared)
    assert validator.is_valid({"root": {"value": 1, "children": [{"value": 2, "children": [
        {"anything": "goes below the cut"}]}]}})
    assert not validator.is_valid({"root": {"value": 1, "children": [{"value": "two"}]}})


def test_ref_to_the_root_is_cut_like_any_cycle():
    prepared = prepare_schema(obj(v={"type": "integer"}, child={"$ref": "#"}), WHERE)
    assert prepared["properties"]["child"]["properties"]["child"] == {"type": "object"}


def test_pure_ref_cycle_becomes_permissive():
    prepared = prepare_schema({**obj(a={"$ref": "#/$defs/A"}), "$defs": {
        "A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}}}, WHERE)
    assert prepared["properties"]["a"] == {}


@pytest.mark.parametrize(("ref", "message"), [
    ("#/$defs/Nope", r"at #/properties/a/\$ref: \$ref '#/\$defs/Nope' points to nothing"),
    ("other.json", "points outside the schema"),
    ("http://example.com/s.json#/x", "remote references are not fetched"),
    ("#anchor", "names an anchor"),
    ("#/properties/a/items/7", "points to nothing"),
])
def test_bad_refs_name_tool_and_pointer(ref, message):
    with pytest.raises(SchemaError, match=message) as caught:
        prepare_schema(obj(a={"$ref": ref}), WHERE)
    assert str(caught.value).startswith(WHERE)


def test_dynamic_ref_is_refused():
    with pytest.raises(SchemaError, match=r"\$dynamicRef is not supported"):
        prepare_schema(obj(a={"$dynamicRef": "#meta"}), WHERE)


def test_ref_siblings_are_kept():
    defs = {"$defs": {"Port": {"type": "integer"}}}
    annotated = prepare_schema({**obj(p={"$ref": "#/$defs/Port", "description": "port"}),
                                **defs}, WHERE)
    assert annotated["properties"]["p"] == {"type": "integer", "description": "port"}
    combined = prepare_schema({**obj(p={"$ref": "#/$defs/Port", "maximum": 10}), **defs}, WHERE)
    assert combined["properties"]["p"] == {"maximum": 10, "allOf": [{"type": "integer"}]}


@pytest.mark.parametrize(("schema", "pointer"), [
    (obj(a={"type": "string", "pattern": "(["}), "#/properties/a/pattern"),
    ({"type": "object", "patternProperties": {"[z-a]": {}}}, "#/patternProperties/[z-a]"),
    ({**obj(a={"$ref": "#/$defs/P"}), "$defs": {"P": {"pattern": "*"}}}, "#/$defs/P/pattern"),
])
def test_bad_regexes_name_the_pointer(schema, pointer):
    with pytest.raises(SchemaError, match="not a valid regular expression") as caught:
        prepare_schema(schema, WHERE)
    assert f"at {pointer}:" in str(caught.value)


def test_pattern_as_a_property_name_is_not_a_regex():
    assert prepare_schema(obj(pattern={"type": "string"}), WHERE) == obj(
        pattern={"type": "string"})


@pytest.mark.parametrize(("schema", "pointer"), [
    (obj(a={"type": "number", "maximum": math.nan}), "#/properties/a/maximum"),
    (obj(a={"type": "number", "multipleOf": math.inf}), "#/properties/a/multipleOf"),
    (obj(a={"enum": [1, -math.inf]}), "#/properties/a/enum/1"),
    (obj(a={"default": {"x": [math.nan]}}), "#/properties/a/default/x/0"),
])
def test_non_finite_numbers_are_refused_anywhere(schema, pointer):
    with pytest.raises(SchemaError, match=f"at {pointer}: .* is not a JSON number"):
        prepare_schema(schema, WHERE)


def test_false_subschema_is_kept_in_an_equivalent_form():
    prepared = prepare_schema(obj(legacy=False, ok=True), WHERE)
    assert prepared["properties"] == {"legacy": {"not": {}}, "ok": True}


def test_depth_is_bounded_with_a_clear_error():
    assert prepare_schema(nested(MAX_DEPTH // 2 - 1), WHERE)
    with pytest.raises(SchemaError, match=f"nests more than {MAX_DEPTH} levels"):
        prepare_schema(nested(100), WHERE)
    with pytest.raises(SchemaError, match="nests more than"):
        prepare_schema(nested(100_000), WHERE)  # far past Python's recursion limit


def test_exponential_ref_blow_up_is_refused():
    defs = {f"D{i}": {"type": "array", "prefixItems": [{"$ref": f"#/$defs/D{i + 1}"}] * 4}
            for i in range(12)}
    defs["D12"] = {"type": "string"}
    with pytest.raises(SchemaError, match="subschemas"):
        prepare_schema({**obj(a={"$ref": "#/$defs/D0"}), "$defs": defs}, WHERE)


def test_json_value_normalises_tuples_and_refuses_other_objects():
    assert json_value({"a": (1, (2,))}, "x") == {"a": [1, [2]]}
    for bad, pointer in [({"a": {1}}, "#/a"), ({"a": b"x"}, "#/a"), ({1: "x"}, "key 1 is not"),
                         ({"a": [object()]}, "#/a/0")]:
        with pytest.raises(SourceError, match=pointer):
            json_value(bad, "binding", SourceError)


def test_json_value_refuses_surrogates_and_huge_integers():
    with pytest.raises(SchemaError, match="unpaired surrogate"):
        json_value({"a": "ok \ud800"}, "x")
    with pytest.raises(SchemaError, match="unpaired surrogate"):
        json_value({"\udfff": 1}, "x")
    with pytest.raises(SchemaError, match="more than 4000 digits"):
        json_value([10**4500], "x")
    assert json_value(10**3999, "x") == 10**3999


def test_openapi_document_refs_resolve_against_the_document():
    kids = {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}
    document = {"components": {"schemas": {"Node": {"type": "object",
                                                    "properties": {"kids": kids}}}}}
    body = resolve_refs({"$ref": "#/components/schemas/Node"}, "body", document=document)
    assert body["properties"]["kids"]["items"]["properties"]["kids"]["items"] == {
        "type": "object"}


@pytest.mark.parametrize("schema", [
    obj(a={"type": "string"}),
    {"type": ["string", "null"], "enum": ["a", None]},
    {"type": "object", "required": ["a"], "additionalProperties": False},
    {"type": "object", "required": ["a", "a"]},
    {"type": ["string", "string"]},
    {"type": "strin"},
    {"minLength": -1},
    {"minLength": 1.5},
    {"multipleOf": 0},
    {"properties": {"a": 3}},
    {"anyOf": []},
    {"items": [{"type": "string"}]},
    {"dependentRequired": {"a": ["b"]}},
    {"x-custom": {"anything": [1]}},
])
def test_fast_metaschema_check_never_accepts_what_jsonschema_refuses(schema):
    if _surely_valid(schema):
        assert METASCHEMA.is_valid(schema)


def test_common_schemas_take_the_fast_path():
    assert _surely_valid(obj(a={"type": "string", "enum": ["x"]}, b={"type": "integer",
                                                                    "minimum": 0}))
    assert not _surely_valid({"dependentRequired": {"a": ["b"]}})  # left to jsonschema
    assert not _surely_valid({"type": "object", "required": ["a", "a"]})
