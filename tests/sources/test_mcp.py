"""Tools listed from real MCP servers through an mcpServers configuration; config checks."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from tests.faults import free_port, stdio_config
from tests.sources.services import MCP_CONFIG
from toolnav.catalog.sources import load_source
from toolnav.catalog.sources.mcp import tools_from_mcp_config
from toolnav.errors import SourceError

pytestmark = pytest.mark.timeout(60)


def test_tools_are_listed_and_namespaced(tmp_path):
    path = tmp_path / "servers.json"
    path.write_text(json.dumps(MCP_CONFIG))
    source = load_source(path)
    tools = {tool.name: tool for tool in source.tools}
    assert set(tools) == {"calc__multiply", "calc__shout", "calc__refuse", "calc__calls_served"}
    multiply = tools["calc__multiply"]
    assert multiply.group == "calc"
    assert multiply.binding == {"kind": "mcp", "server": "calc", "tool": "multiply"}
    assert set(multiply.input_schema["properties"]) == {"a", "b"}
    assert source.servers == MCP_CONFIG["mcpServers"]


def test_listing_works_when_the_caller_runs_an_event_loop():
    async def from_a_coroutine():
        return tools_from_mcp_config(MCP_CONFIG)

    tools, _ = asyncio.run(from_a_coroutine())
    assert {tool.name for tool in tools} >= {"calc__multiply", "calc__shout"}


def test_secrets_stay_in_the_server_config():
    secret = "tok-" + "9f8e7d6c5b4a"
    config = {"mcpServers": {"calc": {**MCP_CONFIG["mcpServers"]["calc"],
                                      "env": {"API_TOKEN": secret}}}}
    tools, servers = tools_from_mcp_config(config)
    assert tools and all(tool.binding == {"kind": "mcp", "server": "calc",
                                          "tool": tool.binding["tool"]} for tool in tools)
    assert all(secret not in json.dumps(tool.to_dict()) for tool in tools)
    assert servers["calc"]["env"] == {"API_TOKEN": secret}


@pytest.mark.parametrize(("config", "message"), [
    ({"mcpServers": {}}, "must be an object"),
    ({"mcpServers": {"x": {"args": []}}}, "needs either \"command\""),
    ({"mcpServers": {"x": {"command": "a", "url": "http://b"}}}, "needs either \"command\""),
    ({"mcpServers": {"x": {"command": sys.executable, "args": "-c"}}}, "must be a list"),
    ({"mcpServers": {"x": {"command": "a", "env": {"K": 1}}}}, "'env' must map names"),
    ({"mcpServers": {"x": {"url": "ftp://host/mcp"}}}, "must be an http"),
    ({"mcpServers": {"x": {"command": "a", "url_typo": 1}}}, "unknown key"),
    ({"mcpServers": {"my__server": {"command": "a"}}}, "without '__'"),
])
def test_bad_configurations(config, message):
    with pytest.raises(SourceError, match=message):
        tools_from_mcp_config(config)


def test_a_command_that_exits_names_the_server_and_the_cause():
    with pytest.raises(SourceError) as caught:
        tools_from_mcp_config({"mcpServers": {"broken": {"command": "/bin/false"}}})
    message = str(caught.value)
    assert message.startswith("MCP server 'broken': command '/bin/false' exited")
    assert "before completing the MCP handshake" in message and "Group" not in message


def test_a_missing_command_and_a_python_that_exits():
    with pytest.raises(SourceError, match="'nope': command not found: '/no/such/server'"):
        tools_from_mcp_config({"mcpServers": {"nope": {"command": "/no/such/server"}}})
    with pytest.raises(SourceError, match=r"'py': command .* exited"):
        tools_from_mcp_config({"mcpServers": {"py": {"command": sys.executable,
                                                     "args": ["-c", "pass"]}}})


def test_a_down_http_server_names_the_server_and_the_refusal():
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(SourceError) as caught:
        tools_from_mcp_config({"mcpServers": {"web": {"url": url,
                                                      "headers": {"Authorization": "Bearer x1"}}}})
    assert str(caught.value) == (f"MCP server 'web': connection refused at {url}; cannot list "
                                 "its tools")


def test_fault_server_tools_are_listed():
    tools, _ = tools_from_mcp_config({"mcpServers": {"ok": stdio_config("healthy")}})
    assert {tool.name for tool in tools} == {"ok__add", "ok__echo", "ok__slow", "ok__header",
                                             "ok__env", "ok__pid"}


def test_exception_groups_are_unwrapped_to_the_real_cause():
    import httpx2
    from mcp.shared.exceptions import MCPError

    from toolnav.catalog.sources.mcp import explain_connection_error

    connect_error = httpx2.ConnectError("All connection attempts failed")
    connect_error.__cause__ = OSError("All connection attempts failed")
    connect_error.__cause__.__cause__ = ConnectionRefusedError(111, "Connect call failed")
    group = ExceptionGroup("unhandled errors in a TaskGroup", [
        MCPError(-32000, "Connection closed"),
        ExceptionGroup("unhandled errors in a TaskGroup", [connect_error])])
    config = {"url": "http://user:pw@127.0.0.1:9/mcp?token=abc"}
    # The transport's failure explains the session's "connection closed"; no credentials.
    assert explain_connection_error("web", config, group, connected=False) == (
        "MCP server 'web': connection refused at http://127.0.0.1:9/mcp")
