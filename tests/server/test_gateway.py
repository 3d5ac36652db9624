"""The gateway's tools over an in-process SDK client: listing, paging, search, validated calls
to Python tools and to a real MCP downstream, errors."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from toolnav.errors import EmptyCatalog
from toolnav.runtime import Toolnav
from toolnav.server import Gateway
from toolnav.server.runtime_backend import RuntimeBackend

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


def text(result) -> str:
    return "\n".join(block.text for block in result.content)


async def list_all(client) -> list[str]:
    names, cursor = [], None
    while True:
        page = await client.list_tools(cursor=cursor)
        names += [tool.name for tool in page.tools]
        cursor = page.next_cursor
        if not cursor:
            return names


async def test_search_mode_lists_the_three_meta_tools(backend):
    async with Client(Gateway(backend).mcp_server()) as client:
        page = await client.list_tools()
    assert [tool.name for tool in page.tools] == ["call_tool", "get_tool_schema",
                                                  "search_tools"]
    assert page.next_cursor is None
    search = next(tool for tool in page.tools if tool.name == "search_tools")
    assert search.input_schema["required"] == ["query"]
    assert search.output_schema is not None


async def test_expose_all_pages_every_tool_with_an_opaque_cursor(backend):
    async with Client(Gateway(backend, expose="all", page_size=4).mcp_server()) as client:
        first = await client.list_tools()
        assert len(first.tools) == 4 and first.next_cursor
        names = await list_all(client)
        with pytest.raises(MCPError, match="invalid cursor"):
            await client.list_tools(cursor="not-a-cursor")
    catalog_names = {tool.name for tool in await backend.list_tools()}
    assert names == sorted(names)  # deterministic order
    assert set(names) == catalog_names | {"search_tools", "call_tool", "get_tool_schema"}
    assert "calc__multiply" in names and "add_numbers" in names


async def test_search_returns_ranked_tools_with_full_schemas(backend):
    async with Client(Gateway(backend).mcp_server()) as client:
        result = await client.call_tool("search_tools", {"query": "add two integers", "k": 3})
    assert not result.is_error
    tools = result.structured_content["tools"]
    assert len(tools) == 3
    assert tools[0]["name"] == "add_numbers"
    assert tools[0]["namespace"] == "python_tools"
    assert tools[0]["inputSchema"]["required"] == ["a", "b"]
    assert [tool["score"] for tool in tools] == sorted((tool["score"] for tool in tools),
                                                       reverse=True)
    assert '"add_numbers"' in text(result)  # the same data as JSON text


async def test_search_of_an_empty_catalog_finds_nothing(tmp_path, hashing_embedder):
    with Toolnav.open(tmp_path / "home", embedder=hashing_embedder) as empty:
        async with RuntimeBackend(empty) as backend:
            with pytest.raises(EmptyCatalog, match="catalog is empty"):
                await backend.search("add two numbers", 5)
            async with Client(Gateway(backend).mcp_server()) as client:
                result = await client.call_tool("search_tools", {"query": "add two numbers"})
    assert not result.is_error and result.structured_content == {"tools": []}


async def test_search_filters_by_namespace_and_checks_its_own_arguments(backend):
    async with Client(Gateway(backend).mcp_server()) as client:
        only_calc = await client.call_tool("search_tools", {"query": "add numbers", "k": 10,
                                                            "namespaces": ["calc"]})
        bad = await client.call_tool("search_tools", {"query": "x", "k": 500})
    assert {tool["namespace"] for tool in only_calc.structured_content["tools"]} == {"calc"}
    assert len(only_calc.structured_content["tools"]) == 4
    assert bad.is_error and "k: too large" in text(bad)


async def test_call_tool_validates_then_runs_python_and_mcp_tools(backend):
    async with Client(Gateway(backend).mcp_server()) as client:
        added = await client.call_tool("call_tool", {"name": "add_numbers",
                                                     "arguments": {"a": 2, "b": "3"}})
        multiplied = await client.call_tool("call_tool", {"name": "calc__multiply",
                                                          "arguments": {"a": 6, "b": 7}})
        refused = await client.call_tool("call_tool", {"name": "calc__refuse",
                                                       "arguments": {"reason": "no"}})
    assert not added.is_error and text(added) == "5"  # "3" was coerced to 3
    assert not multiplied.is_error and multiplied.structured_content == {"result": 42.0}
    assert refused.is_error and "refused: no" in text(refused)


async def test_invalid_arguments_come_back_as_a_repairable_error(backend):
    async with Client(Gateway(backend).mcp_server()) as client:
        result = await client.call_tool("call_tool", {"name": "convert_temperature",
                                                      "arguments": {"value": "hot",
                                                                    "unit": "K"}})
    assert result.is_error
    message = text(result)
    assert "Invalid arguments for tool 'convert_temperature'" in message
    assert "value: wrong type" in message and 'one of "C", "F"' in message
    issues = result.structured_content["issues"]
    assert {issue["path"] for issue in issues} == {"value", "unit"}


async def test_unknown_tools(backend):
    async with Client(Gateway(backend).mcp_server()) as client:
        missing = await client.call_tool("call_tool", {"name": "add_number",
                                                       "arguments": {}})
        with pytest.raises(MCPError, match="unknown tool"):
            await client.call_tool("add_numbers", {"a": 1, "b": 2})  # not exposed directly
    assert missing.is_error and "did you mean add_numbers" in text(missing)


async def test_direct_calls_with_expose_all_are_validated(backend):
    async with Client(Gateway(backend, expose="all").mcp_server()) as client:
        ok = await client.call_tool("add_numbers", {"a": 1, "b": 2})
        bad = await client.call_tool("add_numbers", {"a": 1})
        with pytest.raises(MCPError, match="unknown tool"):
            await client.call_tool("no_such_tool", {})
    assert text(ok) == "3"
    assert bad.is_error and "b: required parameter is missing" in text(bad)


async def test_get_tool_schema(backend):
    async with Client(Gateway(backend).mcp_server()) as client:
        result = await client.call_tool("get_tool_schema", {"name": "calc__shout"})
    assert result.structured_content["namespace"] == "calc"
    assert result.structured_content["inputSchema"]["properties"]["text"]["type"] == "string"
