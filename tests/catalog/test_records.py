"""Stored records are read and become tools only when asked for, once each."""

import json

import pytest

from tests.conftest import make_tool
from toolnav.catalog import records
from toolnav.catalog.records import LazyTools
from toolnav.errors import ToolNotFound


def test_lazy_tools_read_and_build_each_tool_once_on_first_access(monkeypatch):
    stored = {10 + i: json.dumps(make_tool(f"t{i}", f"tool {i}").to_dict()) for i in range(3)}
    fetched, built = [], []
    real = records.stored_tool
    monkeypatch.setattr(records, "stored_tool", lambda record: built.append(record) or real(record))

    def fetch(ids):
        fetched.append(list(ids))
        return [stored.get(i) for i in ids]

    tools = LazyTools(list(stored), ["t0", "t1", "t2"], fetch)
    assert len(tools) == 3 and built == [] and fetched == []
    assert tools[1].description == "tool 1" and tools[1] is tools[1]
    assert built == [stored[11]] and fetched == [[11]]
    assert [tool.name for tool in tools] == ["t0", "t1", "t2"] and len(built) == 3
    assert fetched == [[11], [10, 12]]  # iterating reads every missing record in one call
    assert [tool.name for tool in tools[::2]] == ["t0", "t2"] and len(fetched) == 2
    assert tools[-1].content_hash == make_tool("t2", "tool 2").content_hash


def test_a_tool_removed_from_the_store_after_the_ids_were_read_is_reported_by_name():
    tools = LazyTools([1, 2], ["kept", "gone"],
                      lambda ids: [json.dumps(make_tool("kept").to_dict()) if i == 1 else None
                                   for i in ids])
    assert tools[0].name == "kept"
    with pytest.raises(ToolNotFound, match="'gone' left the catalog"):
        list(tools)
