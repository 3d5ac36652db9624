"""Stored records become tools only when asked for, once each."""

import json

from tests.conftest import make_tool
from toolnav.catalog import records
from toolnav.catalog.records import LazyTools


def test_lazy_tools_build_each_tool_once_on_first_access(monkeypatch):
    stored = [json.dumps(make_tool(f"t{i}", f"tool {i}").to_dict()) for i in range(3)]
    built = []
    real = records.stored_tool
    monkeypatch.setattr(records, "stored_tool", lambda record: built.append(record) or real(record))
    tools = LazyTools(stored)
    assert len(tools) == 3 and built == []
    assert tools[1].description == "tool 1" and tools[1] is tools[1]
    assert built == [stored[1]]
    assert [tool.name for tool in tools] == ["t0", "t1", "t2"] and len(built) == 3
    assert [tool.name for tool in tools[::2]] == ["t0", "t2"] and len(built) == 3
    assert tools[-1].content_hash == make_tool("t2", "tool 2").content_hash
