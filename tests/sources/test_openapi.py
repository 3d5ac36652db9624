"""OpenAPI 3 operations become tools with HTTP bindings."""

from __future__ import annotations

import json

import pytest

from tests.sources.services import EXAMPLES
from toolnav.catalog.sources import load_source
from toolnav.catalog.sources.openapi import tools_from_openapi
from toolnav.errors import SchemaError, SourceError

pytestmark = pytest.mark.timeout(30)

SPEC = json.loads((EXAMPLES / "openapi_service" / "openapi.json").read_text())


def test_operations_become_tools():
    tools = {tool.name: tool for tool in tools_from_openapi(SPEC, source="shop")}
    assert set(tools) == {"search_items", "get_item", "create_order"}
    order = tools["create_order"]
    assert order.group == "shop" and order.description == "Order an item"
    schema = order.input_schema
    assert set(schema["properties"]) == {"X-Customer", "item_id", "quantity", "gift_wrap"}
    assert set(schema["required"]) == {"X-Customer", "item_id", "quantity"}
    assert schema["properties"]["quantity"]["minimum"] == 1  # $ref resolved
    assert order.binding == {
        "kind": "http", "method": "POST", "base_url": "http://127.0.0.1:8808",
        "path": "/orders", "locations": {"X-Customer": "header", "item_id": "body",
                                         "quantity": "body", "gift_wrap": "body"}}
    assert tools["get_item"].input_schema["required"] == ["item_id"]
    assert tools["search_items"].binding["locations"] == {"q": "query", "limit": "query"}


def test_load_source_recognises_openapi(tmp_path):
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(SPEC))
    assert len(load_source(path).tools) == 3


def test_non_object_body_becomes_one_argument():
    spec = {"openapi": "3.0.0", "servers": [{"url": "http://x"}], "paths": {"/tags": {"put": {
        "operationId": "set_tags", "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "string"}}}}}}}}}
    tool = tools_from_openapi(spec)[0]
    assert tool.input_schema["required"] == ["body"]
    assert tool.binding["locations"] == {"body": "body_whole"}


@pytest.mark.parametrize(("change", "message"), [
    ({"openapi": "2.0"}, "only OpenAPI 3"),
    ({"paths": {}}, "no 'paths'"),
    ({"servers": []}, "no absolute 'servers' URL"),
    ({"servers": [{"url": "/v1"}]}, "or pass base_url"),
    ({"paths": {"/a": {"get": {"parameters": [{"$ref": "#/components/nope"}]}}}},
     "points to nothing"),
])
def test_bad_documents(change, message):
    with pytest.raises(SourceError, match=message):
        tools_from_openapi({**SPEC, **change})


@pytest.mark.parametrize(("servers", "expected"), [
    ([], "http://10.0.0.5:9000"),
    ([{"url": "http://127.0.0.1:8808"}], "http://10.0.0.5:9000"),
    ([{"url": "/v1/"}], "http://10.0.0.5:9000/v1"),
])
def test_base_url_overrides_the_servers_entry(servers, expected):
    tools = tools_from_openapi({**SPEC, "servers": servers}, base_url="http://10.0.0.5:9000/")
    assert {tool.binding["base_url"] for tool in tools} == {expected}


def test_load_source_passes_base_url_and_refuses_it_elsewhere(tmp_path):
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(SPEC))
    (tool, *_) = load_source(path, base_url="http://127.0.0.1:9999").tools
    assert tool.binding["base_url"] == "http://127.0.0.1:9999"
    other = tmp_path / "tools.json"
    other.write_text(json.dumps([{"name": "a"}]))
    with pytest.raises(SourceError, match="--base-url applies to OpenAPI documents only"):
        load_source(other, base_url="http://x")
    with pytest.raises(SourceError, match="applies to OpenAPI documents only"):
        load_source("python:math", base_url="http://x")


def recursive_spec() -> dict:
    node = {"type": "object", "properties": {
        "value": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}
    body = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}
    return {**SPEC, "components": {**SPEC.get("components", {}), "schemas": {
        **SPEC.get("components", {}).get("schemas", {}), "Node": node}},
        "paths": {**SPEC["paths"], "/trees": {"post": {"operationId": "plant_tree",
                                                      "requestBody": body}}}}


def test_recursive_schema_keeps_the_operation_with_the_cycle_cut():
    tools = {tool.name: tool for tool in tools_from_openapi(recursive_spec(), source="shop")}
    assert set(tools) == {"search_items", "get_item", "create_order", "plant_tree"}
    children = tools["plant_tree"].input_schema["properties"]["children"]
    assert children["items"]["properties"]["children"]["items"] == {"type": "object"}
    assert tools["plant_tree"].binding["locations"] == {"value": "body", "children": "body"}


def test_errors_name_the_document_and_the_operation(tmp_path):
    spec = recursive_spec()
    spec["paths"]["/trees"]["post"]["requestBody"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/Gone"}
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(spec))
    with pytest.raises(SchemaError, match=r"shop.json: operation POST /trees: request body "
                                          r"schema at #/\$ref: \$ref '#/components/schemas/Gone' "
                                          "points to nothing"):
        load_source(path)


def test_malformed_operations_are_source_errors():
    for paths in ({"/a": []}, {"/a": {"get": {"parameters": [{"in": "query"}]}}},
                  {"/a": {"get": {"parameters": [{"in": "query", "name": "q",
                                                  "schema": {"pattern": "(["}}]}}}):
        with pytest.raises((SourceError, SchemaError), match=r"OpenAPI document: (path|operation)"):
            tools_from_openapi({**SPEC, "paths": paths})
