"""Tools listed from a real MCP server over stdio, through an mcpServers configuration."""

from __future__ import annotations

import json
import sys

import pytest

from tests.sources.services import MCP_CONFIG
from toolnav.catalog.sources import load_source
from toolnav.catalog.sources.mcp import tools_from_mcp_config
from toolnav.errors import SourceError

pytestmark = pytest.mark.timeout(60)


def test_tools_are_listed_and_namespaced(tmp_path):
    path = tmp_path / "servers.json"
    path.write_text(json.dumps(MCP_CONFIG))
    tools = {tool.name: tool for tool in load_source(path).tools}
    assert set(tools) == {"calc__multiply", "calc__shout", "calc__refuse", "calc__calls_served"}
    multiply = tools["calc__multiply"]
    assert multiply.group == "calc"
    assert multiply.binding == {"kind": "mcp", "server": "calc", "tool": "multiply",
                                "config": MCP_CONFIG["mcpServers"]["calc"]}
    assert set(multiply.input_schema["properties"]) == {"a", "b"}


@pytest.mark.parametrize(("config", "message"), [
    ({"mcpServers": {}}, "must be an object"),
    ({"mcpServers": {"x": {"args": []}}}, "needs \"command\""),
    ({"mcpServers": {"x": {"command": sys.executable, "args": "-c"}}}, "must be a list"),
    ({"mcpServers": {"x": {"command": sys.executable, "args": ["-c", "pass"]}}},
     "could not be listed"),
])
def test_bad_configurations(config, message):
    with pytest.raises(SourceError, match=message):
        tools_from_mcp_config(config)
