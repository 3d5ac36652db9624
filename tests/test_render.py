"""Rendering: provider shapes, reversible names, compaction, token budget."""

from __future__ import annotations

import re

import pytest
from mcp_types import Tool as MCPTool

from toolnav.errors import ConfigError, ToolNotFound
from toolnav.render import NameMap, compact_schema, estimate_tokens, render_tools
from toolnav.tool import Tool

pytestmark = pytest.mark.timeout(30)

OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _tool(name: str, words: int = 5) -> Tool:
    return Tool(name=name, description="word " * words, input_schema={
        "type": "object", "title": "Args", "$comment": "internal",
        "properties": {"title": {"type": "string", "title": "Title", "examples": ["a"],
                                 "description": "d " * 200}},
        "required": ["title"]})


def test_provider_shapes():
    tool = _tool("get.weather")
    openai = render_tools([tool], provider="openai").payload[0]
    assert openai["type"] == "function"
    assert set(openai["function"]) == {"name", "description", "parameters"}
    anthropic = render_tools([tool], provider="anthropic").payload[0]
    assert set(anthropic) == {"name", "description", "input_schema"}
    mcp = render_tools([tool], provider="mcp").payload[0]
    assert MCPTool.model_validate(mcp).name == "get.weather"  # MCP allows dots


def test_names_are_mapped_reversibly_and_uniquely():
    names = NameMap("openai")
    originals = ["weather.get", "weather_get", "x" * 100, "x" * 100 + "y", "with space",
                 "plain_name"]
    mapped = [names.provider_name(name) for name in originals]
    assert all(OPENAI_NAME.match(name) for name in mapped)
    assert len(set(mapped)) == len(originals)
    assert mapped[-1] == "plain_name"
    assert [names.tool_name(name) for name in mapped] == originals
    with pytest.raises(ToolNotFound, match="not offered"):
        names.tool_name("invented")


def test_compaction_drops_noise_but_keeps_property_names():
    compact = compact_schema(_tool("t").input_schema)
    assert "title" not in compact and "$comment" not in compact
    prop = compact["properties"]["title"]  # a property called "title" survives
    assert "title" not in prop and "examples" not in prop
    assert len(prop["description"]) <= 161
    assert compact["required"] == ["title"]


def test_budget_chooses_k_in_rank_order():
    tools = [_tool(f"tool_{i}", words=50) for i in range(20)]
    full = render_tools(tools)
    assert len(full.tools) == 20
    one = estimate_tokens(full.payload[0])
    limited = render_tools(tools, budget=one * 5)
    assert 3 <= len(limited.tools) < 20
    assert limited.tokens <= one * 5
    assert [t.name for t in limited.tools] == [f"tool_{i}" for i in range(len(limited.tools))]
    assert limited.names.tool_name("tool_0") == "tool_0"
    with pytest.raises(ToolNotFound):  # dropped by the budget: not resolvable
        limited.names.tool_name(f"tool_{len(limited.tools)}")
    assert len(render_tools(tools, budget=1).tools) == 1  # always the best tool
    assert len(render_tools(tools, max_tools=2).tools) == 2
    assert render_tools(tools, compact=True).tokens < render_tools(tools, compact=False).tokens


def test_bad_arguments():
    with pytest.raises(ConfigError, match="unknown provider"):
        render_tools([], provider="gemini")
    with pytest.raises(ConfigError):
        render_tools([], budget=0)
