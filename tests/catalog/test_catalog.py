import sqlite3

import numpy as np
import pytest

from tests.conftest import make_tool
from toolnav.catalog import Catalog
from toolnav.errors import CatalogError, EmptyCatalog, SchemaError, ToolNotFound


@pytest.fixture
def catalog(tmp_path, hashing_embedder):
    with Catalog.open(tmp_path / "home", embedder=hashing_embedder) as opened:
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


def test_index_embeds_once_and_reembeds_only_changed_text(catalog, hashing_embedder):
    catalog.add_tools(WEATHER, source="weather")
    first = catalog.build_index()
    assert (first.embedded, first.cached, first.rebuilt) == (2, 0, True)
    second = catalog.build_index()
    assert (second.embedded, second.cached, second.rebuilt) == (0, 2, False)
    assert hashing_embedder.texts_embedded == 2
    catalog.add_tools([WEATHER[0], make_tool("get_forecast", "Forecast for a week",
                                             city="City name")], source="weather")
    third = catalog.build_index()
    assert (third.embedded, third.cached, third.rebuilt) == (1, 1, True)
    assert hashing_embedder.texts_embedded == 3


TOPICS = ["weather", "email", "calendar", "invoice", "flight", "hotel", "stock", "news", "music",
          "recipe", "translate", "currency", "map", "ticket", "parcel"]


@pytest.mark.parametrize("kind", ["flat", "nsg"])
def test_a_small_change_updates_the_saved_index_in_place(catalog, hashing_embedder,
                                                         monkeypatch, kind):
    monkeypatch.setattr("toolnav.index.NSG_MIN_VECTORS", 10 if kind == "nsg" else 10**6)
    tools = [make_tool(f"{verb}_{topic}", f"{verb} the {topic} record", key=f"{topic} key")
             for topic in TOPICS for verb in ("get", "set")]
    catalog.add_tools(tools, source="all")
    assert not catalog.build_index().updated_in_place
    edited = [*tools[1:], make_tool("send_sms", "Send a text message to a phone number",
                                    phone="Phone number")]
    catalog.add_tools(edited, source="all")                  # -1, +1 of 30: in place
    report = catalog.build_index()
    assert report.rebuilt and report.updated_in_place
    index = catalog.vector_index()
    assert index.__class__.__name__.lower().startswith(kind) and len(index) == 30
    ids = {e.tool.name: e.id for e in catalog.entries()}
    query = hashing_embedder.embed(["send a text message to a phone number"])[0]
    found, _ = index.search(query, k=30)
    assert int(found[0]) == ids["send_sms"]
    assert set(found.tolist()) == set(ids.values())         # get_weather is gone
    catalog.add_tools(edited[:20], source="all")             # -10 of 30: rebuilt afresh
    report = catalog.build_index()
    assert report.rebuilt and not report.updated_in_place
    assert not catalog.build_index(force=True).updated_in_place


def test_index_search_finds_the_tool_and_embeddings_align(catalog, hashing_embedder):
    email = make_tool("send_email", "Send an email message", to="Recipient address")
    catalog.add_tools([*WEATHER, email], source="mixed")
    catalog.build_index()
    entries = {e.tool.name: e.id for e in catalog.entries()}
    query = hashing_embedder.embed(["send email message to recipient"])[0]
    ids, _ = catalog.vector_index().search(query, k=1)
    assert int(ids[0]) == entries["send_email"]
    vectors = catalog.embeddings([entries["send_email"], entries["get_weather"]])
    assert vectors.shape == (2, hashing_embedder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_index_survives_reopen_without_model_work(tmp_path, hashing_embedder):
    with Catalog.open(tmp_path, embedder=hashing_embedder) as catalog:
        catalog.add_tools(WEATHER, source="weather")
        catalog.build_index()
    with Catalog.open(tmp_path, embedder=hashing_embedder) as catalog:
        assert len(catalog.vector_index()) == 2
        assert catalog.build_index().embedded == 0
    assert hashing_embedder.texts_embedded == 2


def test_large_catalogs_get_the_nsg_index_small_ones_exact_search(tmp_path, hashing_embedder,
                                                                  monkeypatch):
    import toolnav.index
    from toolnav.index import default_index_kind
    from toolnav.index.flat import FlatIndex
    from toolnav.index.nsg import NSGIndex

    assert default_index_kind(toolnav.index.NSG_MIN_VECTORS - 1) == "flat"
    assert default_index_kind(toolnav.index.NSG_MIN_VECTORS) == "nsg"
    monkeypatch.setattr(toolnav.index, "NSG_MIN_VECTORS", 50)
    tools = [make_tool(f"tool_{i}", f"does task number {i} of kind {i % 7}") for i in range(60)]
    with Catalog.open(tmp_path, embedder=hashing_embedder) as catalog:
        catalog.add_tools(tools[:40], source="few")
        catalog.build_index()
        assert isinstance(catalog.vector_index(), FlatIndex)
        catalog.add_tools(tools[40:], source="more")
        catalog.build_index()
        index = catalog.vector_index()
        assert isinstance(index, NSGIndex) and len(index) == 60
        target = next(e for e in catalog.entries() if e.tool.name == "tool_42")
        query = hashing_embedder.embed(["does task number 42 of kind 0"])[0]
        assert int(index.search(query, k=1)[0][0]) == target.id
    with Catalog.open(tmp_path, embedder=hashing_embedder) as reopened:  # loaded from disk
        assert isinstance(reopened.vector_index(), NSGIndex)


def test_empty_catalog_cannot_be_indexed(catalog):
    with pytest.raises(EmptyCatalog, match="toolnav add"):
        catalog.build_index()


def test_feedback_is_a_persisted_weighted_average(tmp_path, hashing_embedder):
    with Catalog.open(tmp_path, embedder=hashing_embedder) as catalog:
        catalog.add_tools(WEATHER, source="weather")
        catalog.record_outcome("get_weather", False, alpha=0.5)
        rate, count = catalog.record_outcome("get_weather", False, alpha=0.5)
        assert (rate, count) == (0.25, 2)
        with pytest.raises(ToolNotFound):
            catalog.record_outcome("nope", True)
    with Catalog.open(tmp_path, embedder=hashing_embedder) as catalog:
        assert catalog.feedback_scores() == {"get_weather": (0.25, 2)}


def test_a_file_that_is_not_a_catalog_is_refused(tmp_path):
    (tmp_path / "catalog.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogError, match="not a usable toolnav catalog"):
        Catalog.open(tmp_path)
    sqlite3.connect(":memory:").close()
