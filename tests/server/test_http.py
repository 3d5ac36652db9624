"""The gateway over Streamable HTTP, served in-process: both protocol eras, bearer tokens with
namespace scopes, Origin checks, body limits, health, readiness and Prometheus metrics."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from mcp import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.server.conftest import ALICE, PYTHON, ROOT, mcp_http_client, running_http
from toolnav.server import Gateway
from toolnav.server.meta_tools import META_TOOLS
from toolnav.server.task_tools import TASK_TOOLS
from toolnav.tool import Tool

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(90)]

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                         "clientInfo": {"name": "raw", "version": "0"}}}
MCP_HEADERS = {"Content-Type": "application/json",
               "Accept": "application/json, text/event-stream"}


def text(result) -> str:
    return "\n".join(block.text for block in result.content)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_sdk_client_lists_searches_and_calls_in_both_eras(backend, mode):
    async with running_http(Gateway(backend)) as url, mcp_http_client(url, mode=mode) as client:
        expected = "2025-11-25" if mode == "legacy" else "2026-07-28"
        assert client.session.protocol_version == expected
        tools = await client.list_tools()
        found = await client.call_tool("search_tools", {"query": "multiply two numbers"})
        called = await client.call_tool("call_tool", {"name": "calc__multiply",
                                                      "arguments": {"a": 3, "b": 4}})
    assert {tool.name for tool in tools.tools} == {"search_tools", "call_tool",
                                                   "get_tool_schema"}
    assert found.structured_content["tools"][0]["name"] == "calc__multiply"
    assert called.structured_content == {"result": 12.0}


async def test_no_or_wrong_token_gets_401_pointing_at_the_resource_metadata(backend,
                                                                            token_file):
    async with running_http(Gateway(backend), tokens=token_file) as url, \
            httpx.AsyncClient(base_url=url) as http:
        missing = await http.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)
        wrong = await http.post("/mcp", json=INITIALIZE, headers={
            **MCP_HEADERS, "Authorization": f"Bearer {ROOT[:-1]}x"})
        right = await http.post("/mcp", json=INITIALIZE, headers={
            **MCP_HEADERS, "Authorization": f"Bearer {ROOT}"})
        challenge = missing.headers["www-authenticate"]
        metadata_url = challenge.split('resource_metadata="')[1].split('"')[0]
        metadata = (await http.get(metadata_url)).json()
        metrics = await http.get("/metrics")
        health = await http.get("/healthz")
    assert missing.status_code == 401 and wrong.status_code == 401
    assert challenge.startswith("Bearer ")
    assert right.status_code == 200
    assert metadata["resource"] == f"{url}/mcp"
    assert metadata["bearer_methods_supported"] == ["header"]
    assert metrics.status_code == 401  # operational data needs a token too
    assert health.status_code == 200   # liveness never does


async def test_scoped_token_never_sees_or_reaches_other_namespaces(backend, token_file):
    gateway = Gateway(backend, expose="all")
    async with running_http(gateway, tokens=token_file) as url:
        async with mcp_http_client(url, ALICE) as alice:
            listed = {tool.name for tool in (await alice.list_tools()).tools}
            found = await alice.call_tool("search_tools", {"query": "add two integers",
                                                           "k": 50})
            via_meta = await alice.call_tool("call_tool", {"name": "add_numbers",
                                                           "arguments": {"a": 1, "b": 2}})
            direct = await alice.call_tool("add_numbers", {"a": 1, "b": 2})
            schema = await alice.call_tool("get_tool_schema", {"name": "add_numbers"})
            own = await alice.call_tool("call_tool", {"name": "calc__shout",
                                                      "arguments": {"text": "hi"}})
        async with mcp_http_client(url, PYTHON) as python:
            only_python = await python.call_tool("search_tools", {"query": "multiply",
                                                                  "k": 50})
    assert "add_numbers" not in listed and "calc__multiply" in listed
    assert {tool["namespace"] for tool in found.structured_content["tools"]} == {"calc"}
    for refused in (via_meta, direct, schema):
        assert refused.is_error and text(refused).startswith("insufficient_scope")
    assert own.structured_content == {"result": "HI"}
    assert {tool["namespace"] for tool in only_python.structured_content["tools"]} == {
        "python_tools"}
    # The refused calls never reached a tool: only calc__shout was forwarded.
    families = {family.name: family for family in
                text_string_to_metric_families(gateway.metrics.exposition().decode())}
    forwarded = {sample.labels["downstream"]: sample.value
                 for sample in families["toolnav_downstream_calls"].samples
                 if sample.name.endswith("_total")}
    assert forwarded == {"calc": 1.0}


async def test_foreign_origin_is_refused_and_loopback_origin_accepted(backend):
    async with running_http(Gateway(backend)) as url, httpx.AsyncClient(base_url=url) as http:
        evil = await http.post("/mcp", json=INITIALIZE,
                               headers={**MCP_HEADERS, "Origin": "http://evil.example"})
        local = await http.post("/mcp", json=INITIALIZE,
                                headers={**MCP_HEADERS, "Origin": "http://localhost:3000"})
        rebound_host = await http.post("/mcp", json=INITIALIZE,
                                       headers={**MCP_HEADERS, "Host": "evil.example"})
    assert evil.status_code == 403
    assert local.status_code == 200
    assert rebound_host.status_code == 421


async def test_configured_origin_is_accepted(backend):
    async with running_http(Gateway(backend), allowed_origins=("https://app.example",)) as url, \
            httpx.AsyncClient(base_url=url) as http:
        allowed = await http.post("/mcp", json=INITIALIZE,
                                  headers={**MCP_HEADERS, "Origin": "https://app.example"})
    assert allowed.status_code == 200


async def test_oversized_body_gets_413(backend, token_file):
    async with running_http(Gateway(backend), tokens=token_file, max_body_bytes=4096) as url, \
            httpx.AsyncClient(base_url=url) as http:
        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "search_tools", "arguments": {"query": "x" * 10_000}}}
        response = await http.post("/mcp", content=json.dumps(call), headers={
            **MCP_HEADERS, "Authorization": f"Bearer {ROOT}"})
    assert response.status_code == 413


async def test_metrics_and_readiness_move_with_the_calls(backend, token_file):
    gateway = Gateway(backend)
    auth = {"Authorization": f"Bearer {ROOT}"}
    async with running_http(gateway, tokens=token_file) as url, \
            httpx.AsyncClient(base_url=url, headers=auth) as http:
        before = (await http.get("/readyz")).json()
        async with mcp_http_client(url, ROOT) as client:
            await client.call_tool("search_tools", {"query": "multiply", "k": 3})
            await client.call_tool("call_tool", {"name": "calc__multiply",
                                                 "arguments": {"a": 1, "b": 2}})
            await client.call_tool("call_tool", {"name": "calc__multiply",
                                                 "arguments": {"a": "x"}})
        after = (await http.get("/readyz")).json()
        exposition = (await http.get("/metrics")).text
    samples = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
               for family in text_string_to_metric_families(exposition)
               for sample in family.samples}
    assert before["downstreams"]["calc"]["state"] == "idle"
    assert after["ready"] and after["downstreams"]["calc"]["state"] == "connected"
    assert samples[("toolnav_requests_total",
                    (("outcome", "ok"), ("tool", "search_tools")))] == 1
    assert samples[("toolnav_requests_total", (("outcome", "ok"), ("tool", "call_tool")))] == 1
    assert samples[("toolnav_requests_total",
                    (("outcome", "invalid_arguments"), ("tool", "call_tool")))] == 1
    assert samples[("toolnav_search_results_total", ())] == 3
    assert samples[("toolnav_downstream_calls_total",
                    (("downstream", "calc"), ("outcome", "ok")))] == 1
    assert samples[("toolnav_downstream_call_seconds_count", (("downstream", "calc"),))] == 1
    assert samples[("toolnav_request_seconds_count", (("tool", "call_tool"),))] == 2
    assert samples[("toolnav_downstream_state",
                    (("downstream", "calc"), ("state", "connected")))] == 1
    assert ("toolnav_downstream_reconnects_total", (("downstream", "calc"),)) in samples


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_tool_call_is_logged_on_the_line_of_its_http_request(backend, token_file,
                                                                     mode, caplog):
    caplog.set_level(logging.INFO, logger="toolnav")
    async with running_http(Gateway(backend), tokens=token_file) as url, \
            mcp_http_client(url, ALICE, mode=mode) as client:
        await client.call_tool("search_tools", {"query": "multiply", "k": 2})
        await client.call_tool("search_tools", {"query": ""})
    calls = [record for record in caplog.records if hasattr(record, "tool")]
    assert [(record.getMessage(), record.event, record.path, record.status, record.tool,
             record.outcome, record.caller) for record in calls] == [
        ("http request", "http", "/mcp", 200, "search_tools", "ok", "alice"),
        ("http request", "http", "/mcp", 200, "search_tools", "invalid_arguments", "alice")]
    assert all(0 <= record.call_seconds <= record.seconds for record in calls)
    assert not [record for record in caplog.records if record.getMessage() == "tool call"]
    assert ALICE not in caplog.text


async def test_a_tool_call_outside_http_gets_a_line_of_its_own(backend, caplog):
    caplog.set_level(logging.INFO, logger="toolnav")
    async with Client(Gateway(backend).mcp_server()) as client:
        await client.call_tool("search_tools", {"query": "multiply"})
    [record] = [record for record in caplog.records if hasattr(record, "tool")]
    assert (record.getMessage(), record.event, record.tool, record.outcome, record.caller) == \
        ("tool call", "call", "search_tools", "ok", "")
    assert record.seconds >= 0


class CountingGateway(Gateway):
    """Counts its tools/list answers."""

    listings = 0

    async def _list_tools(self, ctx, params):
        self.listings += 1
        return await super()._list_tools(ctx, params)


def declares_headers(schema) -> bool:
    if isinstance(schema, dict):
        return "x-mcp-header" in schema or any(map(declares_headers, schema.values()))
    return isinstance(schema, list) and any(map(declares_headers, schema))


async def test_search_calls_check_no_headers_and_list_no_tools(backend):
    """The SDK checks ``Mcp-Param`` headers against the called tool's schema, which it finds
    by running tools/list unless the server says; the gateway's own tools take no header
    parameters, so it says there is nothing to check, and no call runs tools/list."""
    gateway = CountingGateway(backend)
    async with running_http(gateway) as url, mcp_http_client(url) as client:
        listed = await client.list_tools()
        await client.call_tool("search_tools", {"query": "multiply two numbers"})
        await client.call_tool("get_tool_schema", {"name": "calc__multiply"})
    lookup = gateway.mcp_server().get_tool_input_schema
    assert gateway.listings == 1  # the client's own tools/list
    own = [*META_TOOLS.values(), *TASK_TOOLS.values()]
    assert not any(declares_headers(dict(tool.input_schema)) for tool in own)
    assert {tool.name for tool in listed.tools} <= {tool.name for tool in own}
    assert all(lookup(tool.name) is None for tool in own)
    assert lookup("calc__multiply") is None  # not exposed in search mode


async def test_header_check_with_expose_all_follows_each_callers_listing(toolnav, backend,
                                                                         token_file):
    """A direct call's ``Mcp-Param`` headers are checked against the tool's schema when the
    caller's token lists the tool, and not otherwise (the call is then refused for scope),
    without the gateway listing the catalog for it."""
    add = toolnav.catalog.get("add_numbers")
    toolnav.catalog.add_tools([Tool(name="add_headed", description=add.description,
                                    input_schema={**add.input_schema, "properties": {
                                        **add.input_schema["properties"],
                                        "a": {"type": "integer", "x-mcp-header": "A"}}},
                                    binding=add.binding)], source="headed")

    async def call(http, token: str, header: str) -> httpx.Response:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "add_headed", "arguments": {"a": 1, "b": 2},
                           "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                     "io.modelcontextprotocol/clientCapabilities": {}}}}
        return await http.post("/mcp", content=json.dumps(body), headers={
            **MCP_HEADERS, "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call",
            "Mcp-Name": "add_headed", "Mcp-Param-A": header,
            "Authorization": f"Bearer {token}"})

    gateway = CountingGateway(backend, expose="all", page_size=2)
    async with running_http(gateway, tokens=token_file) as url, \
            httpx.AsyncClient(base_url=url) as http:
        matching = await call(http, ROOT, "1")
        mismatched = await call(http, ROOT, "5")
        out_of_scope = await call(http, ALICE, "5")
    assert matching.status_code == 200 and matching.json()["result"]["content"][0]["text"] == "3"
    assert mismatched.status_code == 400 and "Mcp-Param-A" in mismatched.text
    assert out_of_scope.status_code == 200
    assert out_of_scope.json()["result"]["content"][0]["text"].startswith("insufficient_scope")
    assert gateway.listings == 0
