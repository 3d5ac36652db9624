"""Re-adding an unchanged source does not parse it again; `add_tools` takes tool dicts."""

from __future__ import annotations

import json

import pytest

from tests.conftest import make_tool
from toolnav.catalog import Catalog
from toolnav.catalog.sources import SourceText
from toolnav.errors import SchemaError, SourceError


@pytest.fixture
def catalog(tmp_path):
    with Catalog.open(tmp_path / "home") as opened:
        yield opened


def write_tools(path, *names):
    path.write_text("".join(json.dumps({"name": name, "description": f"does {name}"}) + "\n"
                            for name in names))
    return path


def refuse_parsing(monkeypatch):
    def parse(self, progress):
        raise AssertionError(f"{self.where} was parsed again")
    monkeypatch.setattr(SourceText, "parse", parse)


def test_an_unchanged_file_is_not_parsed_again(catalog, tmp_path, monkeypatch):
    tools = write_tools(tmp_path / "weather.jsonl", "a", "b", "c")
    assert len(catalog.add_source(tools).added) == 3
    version = catalog.version
    with monkeypatch.context() as patched:
        refuse_parsing(patched)
        change = catalog.add_source(tools)
    assert (change.source, change.added, change.updated, change.unchanged, change.removed) == (
        "weather", [], [], 3, [])
    assert catalog.version == version


def test_a_changed_file_a_new_label_or_a_removed_tool_parse_again(catalog, tmp_path):
    tools = write_tools(tmp_path / "weather.jsonl", "a", "b")
    catalog.add_source(tools)
    write_tools(tools, "a", "b", "c")
    assert catalog.add_source(tools).added == ["c"]
    assert catalog.add_source(tools, name="other").renamed == {
        "a": "other__a", "b": "other__b", "c": "other__c"}
    catalog.remove(["b"])
    change = catalog.add_source(tools)                # the file did not change; the catalog did
    assert (change.added, change.unchanged) == (["b"], 2)


def test_python_sources_are_always_parsed(catalog, tmp_path, monkeypatch):
    module = tmp_path / "helpers.py"
    module.write_text('def greet(name: str) -> str:\n    """Say hello."""\n    return name\n')
    catalog.add_source(module)
    with monkeypatch.context() as patched:
        refuse_parsing(patched)
        with pytest.raises(AssertionError, match="parsed again"):
            catalog.add_source(module)


def test_add_tools_takes_tool_dicts_in_every_file_shape(catalog):
    change = catalog.add_tools([
        make_tool("built"),
        {"name": "bare", "description": "bare form", "parameters": {"type": "object"}},
        {"type": "function", "function": {"name": "openai", "description": "OpenAI form"}},
        {"name": "mcp", "inputSchema": {"type": "object", "properties": {"x": {}}}},
    ], source="mixed")
    assert change.added == ["built", "bare", "openai", "mcp"]
    assert catalog.get("mcp").parameters() == {"x": {}}
    assert catalog.get("bare").source == "mixed"


def test_add_tools_names_the_unusable_item_and_changes_nothing(catalog):
    with pytest.raises(SchemaError, match=r"add_tools\(source='s'\): tool #1: .*input schema"):
        catalog.add_tools([{"name": "ok"}, {"name": "bad", "parameters": {"type": "string"}}],
                          source="s")
    with pytest.raises(SourceError, match=r"tool #0 is a str; pass toolnav.Tool objects or tool "
                                          r"definitions as dicts"):
        catalog.add_tools(["get_weather"], source="s")
    with pytest.raises(SourceError, match=r"source 's': tools #0 and #2 are both named 'x'"):
        catalog.add_tools([{"name": "x"}, make_tool("y"), make_tool("x")], source="s")
    assert len(catalog) == 0


def test_adding_a_large_file_reports_progress(catalog, tmp_path):
    heard = []
    names = [f"t{i}" for i in range(2500)]
    catalog.add_source(write_tools(tmp_path / "big.jsonl", *names),
                       progress=lambda *report: heard.append(report))
    assert heard == [("reading tools", done, 2500) for done in (0, 1000, 2000, 2500)]
