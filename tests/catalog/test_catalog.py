import sqlite3

import pytest

from tests.conftest import make_tool
from toolnav.catalog import Catalog
from toolnav.errors import CatalogError, SchemaError, ToolNotFound


@pytest.fixture
def catalog(tmp_path):
    with Catalog.open(tmp_path / "home") as opened:
        yield opened


WEATHER = [make_tool("get_weather", "Current weather for a city", city="City name"),
           make_tool("get_forecast", "Weather forecast for the next days", city="City name")]


def test_add_tools_reports_and_resync_adds_updates_removes(catalog):
    change = catalog.add_tools(WEATHER, source="weather")
    assert change.added == ["get_weather", "get_forecast"] and change.unchanged == 0
    assert catalog.add_tools(WEATHER, source="weather").unchanged == 2
    version = catalog.version
    edited = [make_tool("get_weather", "Weather right now", city="City name"),
              make_tool("air_quality", "Air quality index", city="City name")]
    change = catalog.add_tools(edited, source="weather")
    assert (change.updated, change.added, change.removed) == (
        ["get_weather"], ["air_quality"], ["get_forecast"])
    assert catalog.version != version
    assert catalog.get("get_weather").description == "Weather right now"
    assert sorted(t.name for t in catalog.tools()) == ["air_quality", "get_weather"]


def test_colliding_names_from_another_source_are_namespaced(catalog):
    catalog.add_tools(WEATHER, source="weather")
    change = catalog.add_tools([make_tool("get_weather", "Weather from another provider")],
                               source="meteo")
    assert change.renamed == {"get_weather": "meteo__get_weather"}
    assert catalog.get("meteo__get_weather").description == "Weather from another provider"
    assert catalog.get("get_weather").source == "weather"
    entry = next(e for e in catalog.entries() if e.tool.name == "meteo__get_weather")
    assert entry.original_name == "get_weather"
    # re-syncing the namespaced source keeps its name and sees no change
    again = catalog.add_tools([make_tool("get_weather", "Weather from another provider")],
                              source="meteo")
    assert again.unchanged == 1 and not again.added


def test_a_bad_source_changes_nothing(catalog, tmp_path):
    catalog.add_tools(WEATHER, source="weather")
    bad = tmp_path / "weather.json"
    bad.write_text('[{"name": "get_weather", "parameters": {"type": "string"}}]')
    with pytest.raises(SchemaError):
        catalog.add_source(bad)
    assert [t.description for t in catalog.tools()] == [t.description for t in WEATHER]


def test_get_unknown_tool_suggests_close_names(catalog):
    catalog.add_tools(WEATHER, source="weather")
    with pytest.raises(ToolNotFound, match="did you mean get_weather"):
        catalog.get("get_wether")


def test_feedback_is_a_persisted_weighted_average(tmp_path):
    with Catalog.open(tmp_path) as catalog:
        catalog.add_tools(WEATHER, source="weather")
        catalog.record_outcome("get_weather", False, alpha=0.5)
        rate, count = catalog.record_outcome("get_weather", False, alpha=0.5)
        assert (rate, count) == (0.25, 2)
        with pytest.raises(ToolNotFound):
            catalog.record_outcome("nope", True)
    with Catalog.open(tmp_path) as catalog:
        assert catalog.feedback_scores() == {"get_weather": (0.25, 2)}


def test_a_file_that_is_not_a_catalog_is_refused(tmp_path):
    (tmp_path / "catalog.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogError, match="not a usable toolnav catalog"):
        Catalog.open(tmp_path)
    sqlite3.connect(":memory:").close()
