"""Index upkeep: embed what changed, update the saved index in place or rebuild, snapshots."""

import numpy as np
import pytest

from tests.conftest import make_tool
from toolnav.errors import EmptyCatalog
from toolnav.runtime import Toolnav
from toolnav.tool import embedding_text

WEATHER = [make_tool("get_weather", "Current weather for a city", city="City name"),
           make_tool("get_forecast", "Weather forecast for the next days", city="City name")]


@pytest.fixture
def toolnav(tmp_path, hashing_embedder):
    with Toolnav.open(tmp_path / "home", embedder=hashing_embedder) as opened:
        yield opened


def test_index_embeds_once_and_reembeds_only_changed_text(toolnav, hashing_embedder):
    toolnav.catalog.add_tools(WEATHER, source="weather")
    first = toolnav.index()
    assert (first.embedded, first.cached, first.rebuilt) == (2, 0, True)
    second = toolnav.index()
    assert (second.embedded, second.cached, second.rebuilt) == (0, 2, False)
    assert hashing_embedder.texts_embedded == 2
    toolnav.catalog.add_tools([WEATHER[0], make_tool("get_forecast", "Forecast for a week",
                                             city="City name")], source="weather")
    third = toolnav.index()
    assert (third.embedded, third.cached, third.rebuilt) == (1, 1, True)
    assert hashing_embedder.texts_embedded == 3


TOPICS = ["weather", "email", "calendar", "invoice", "flight", "hotel", "stock", "news", "music",
          "recipe", "translate", "currency", "map", "ticket", "parcel"]


@pytest.mark.parametrize("kind", ["flat", "nsg"])
def test_a_small_change_updates_the_saved_index_in_place(toolnav, hashing_embedder,
                                                         monkeypatch, kind):
    monkeypatch.setattr("toolnav.index.NSG_MIN_VECTORS", 10 if kind == "nsg" else 10**6)
    tools = [make_tool(f"{verb}_{topic}", f"{verb} the {topic} record", key=f"{topic} key")
             for topic in TOPICS for verb in ("get", "set")]
    toolnav.catalog.add_tools(tools, source="all")
    assert not toolnav.index().updated_in_place
    edited = [*tools[1:], make_tool("send_sms", "Send a text message to a phone number",
                                    phone="Phone number")]
    toolnav.catalog.add_tools(edited, source="all")                  # -1, +1 of 30: in place
    report = toolnav.index()
    assert report.rebuilt and report.updated_in_place
    index = toolnav.maintainer.snapshot().index
    assert index.__class__.__name__.lower().startswith(kind) and len(index) == 30
    ids = {e.tool.name: e.id for e in toolnav.catalog.entries()}
    query = hashing_embedder.embed(["send a text message to a phone number"])[0]
    found, _ = index.search(query, k=30)
    assert int(found[0]) == ids["send_sms"]
    assert set(found.tolist()) == set(ids.values())         # get_weather is gone
    toolnav.catalog.add_tools(edited[:20], source="all")             # -10 of 30: rebuilt afresh
    report = toolnav.index()
    assert report.rebuilt and not report.updated_in_place
    assert not toolnav.index(force=True).updated_in_place


def test_index_search_finds_the_tool_and_embeddings_align(toolnav, hashing_embedder):
    email = make_tool("send_email", "Send an email message", to="Recipient address")
    toolnav.catalog.add_tools([*WEATHER, email], source="mixed")
    toolnav.index()
    entries = {e.tool.name: e.id for e in toolnav.catalog.entries()}
    query = hashing_embedder.embed(["send email message to recipient"])[0]
    ids, _ = toolnav.maintainer.snapshot().index.search(query, k=1)
    assert int(ids[0]) == entries["send_email"]
    indexed = toolnav.maintainer.snapshot()
    rows = [indexed.ids.tolist().index(entries[name]) for name in ("send_email", "get_weather")]
    vectors = indexed.vectors[rows]
    assert vectors.shape == (2, hashing_embedder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors, hashing_embedder.embed(
        [embedding_text(indexed.tools[row]) for row in rows]), atol=1e-6)


def test_index_survives_reopen_without_model_work(tmp_path, hashing_embedder):
    with Toolnav.open(tmp_path, embedder=hashing_embedder) as toolnav:
        toolnav.catalog.add_tools(WEATHER, source="weather")
        toolnav.index()
    with Toolnav.open(tmp_path, embedder=hashing_embedder) as toolnav:
        assert len(toolnav.maintainer.snapshot().index) == 2
        assert toolnav.index().embedded == 0
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
    with Toolnav.open(tmp_path, embedder=hashing_embedder) as toolnav:
        toolnav.catalog.add_tools(tools[:40], source="few")
        toolnav.index()
        assert isinstance(toolnav.maintainer.snapshot().index, FlatIndex)
        toolnav.catalog.add_tools(tools[40:], source="more")
        toolnav.index()
        index = toolnav.maintainer.snapshot().index
        assert isinstance(index, NSGIndex) and len(index) == 60
        target = next(e for e in toolnav.catalog.entries() if e.tool.name == "tool_42")
        query = hashing_embedder.embed(["does task number 42 of kind 0"])[0]
        assert int(index.search(query, k=1)[0][0]) == target.id
    with Toolnav.open(tmp_path, embedder=hashing_embedder) as reopened:  # loaded from disk
        assert isinstance(reopened.maintainer.snapshot().index, NSGIndex)


def test_empty_catalog_cannot_be_indexed(toolnav):
    with pytest.raises(EmptyCatalog, match="toolnav add"):
        toolnav.index()




def test_exact_search_routes_without_the_nsg_kernels(tmp_path, hashing_embedder, monkeypatch):
    import toolnav.index
    from toolnav.config import RouteParams
    from toolnav.index.flat import FlatIndex
    from toolnav.index.nsg import NSGIndex

    monkeypatch.setattr(toolnav.index, "NSG_MIN_VECTORS", 50)
    with Toolnav.open(tmp_path, embedder=hashing_embedder) as toolnav:
        toolnav.catalog.add_tools([make_tool(f"tool_{i}", f"does task number {i} of kind {i % 7}")
                                   for i in range(60)], source="many")
        request = "does task number 42 of kind 0"
        graph = toolnav.router().route(request, k=3)
        assert isinstance(toolnav.maintainer.snapshot().index, NSGIndex)

        def refuse(*args, **kwargs):
            raise AssertionError("the NSG graph was searched")

        monkeypatch.setattr(NSGIndex, "search", refuse)
        monkeypatch.setattr(NSGIndex, "load", refuse)  # nor read from disk
        toolnav.maintainer._loaded = None  # forget the graph the first router loaded
        exact = toolnav.router(RouteParams(exact_search=True)).route(request, k=3)
        assert isinstance(toolnav.maintainer.snapshot(exact=True).index, FlatIndex)
    assert [(c.tool.name, c.score) for c in exact.candidates] == [
        (c.tool.name, c.score) for c in graph.candidates]
    assert exact.candidates[0].tool.name == "tool_42"


def test_a_snapshot_reads_the_routing_rows_once_per_catalog_state(toolnav, monkeypatch):
    toolnav.catalog.add_tools(WEATHER, source="weather")
    first = toolnav.maintainer.snapshot()
    store = toolnav.catalog.store

    def refuse():
        raise AssertionError("the routing rows were read from the store again")

    with monkeypatch.context() as patched:
        patched.setattr(store, "routing_rows", refuse)
        patched.setattr(store, "records", lambda ids: refuse())
        again = toolnav.maintainer.snapshot()  # rows and BM25 index from the saved copies
        assert again.names == first.names == ["get_weather", "get_forecast"]
        assert np.array_equal(again.lexical.scores("forecast"), first.lexical.scores("forecast"))
    toolnav.catalog.add_tools([make_tool("send_email", "Send an email")], source="mail")
    changed = toolnav.maintainer.snapshot()
    assert changed.names == ["get_weather", "get_forecast", "send_email"]
    assert changed.tools[2].description == "Send an email"
    assert changed.lexical.scores("email").argmax() == 2
