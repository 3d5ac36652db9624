"""Router behaviour: ranking with the real model, methods, filters, feedback, abstention."""

import dataclasses
import json

import numpy as np
import pytest

from tests.conftest import make_tool, python_output
from toolnav.config import BUNDLED_DENSE_WEIGHT, TUNED_DENSE_WEIGHT, RouteParams, Settings
from toolnav.errors import ConfigError, EmptyCatalog
from toolnav.evaluation.abstention import abstention_report, calibrate_threshold, fit_scores
from toolnav.route import CENTROID_SAMPLE, ToolFilter, intent_spans, split_intents
from toolnav.runtime import Toolnav

TOOLS = [
    make_tool("get_weather", "Current weather conditions for a city", city="City name"),
    make_tool("get_forecast", "Weather forecast for the coming days", city="City name"),
    make_tool("send_email", "Send an email message to a recipient", to="Email address"),
    make_tool("convert_currency", "Convert an amount of money between currencies",
              amount="Amount", target="Currency code"),
    make_tool("book_flight", "Book a plane ticket between two airports", origin="Airport"),
    make_tool("translate_text", "Translate text into another language", text="Text"),
]


@pytest.fixture(scope="module")
def toolnav(tmp_path_factory, real_embedder):
    home = tmp_path_factory.mktemp("route")
    opened = Toolnav.open(home, embedder=real_embedder)
    opened.catalog.add_tools(TOOLS[:4], source="daily")
    opened.catalog.add_tools(TOOLS[4:], source="travel")
    marine = make_tool("ocean_conditions", "Sea state, waves and wind at a coastal spot",
                       spot="Beach or harbour")
    opened.catalog.add_tools([dataclasses.replace(marine, tags=("marine",))], source="marine")
    opened.index()
    yield opened
    opened.close()


@pytest.mark.parametrize("request_text, expected", [
    ("how many euros is 30 dollars", "convert_currency"),
    ("mail my landlord that the rent is late", "send_email"),
    ("I need a plane ticket from Paris to Rome", "book_flight"),
    ("will it rain in Oslo over the next few days", "get_forecast"),
])
@pytest.mark.parametrize("method", ["hybrid", "dense"])
def test_the_gold_tool_is_ranked_first(toolnav, request_text, expected, method):
    result = toolnav.router(RouteParams()).route(request_text, k=3, method=method)
    assert result.candidates[0].tool.name == expected
    assert [c.rank for c in result.candidates] == [1, 2, 3]
    assert result.candidates[0].score >= result.candidates[1].score


def test_bm25_finds_exact_words_and_k_beyond_catalog_returns_all(toolnav):
    router = toolnav.router(RouteParams())
    assert router.route("translate text", k=1, method="bm25").candidates[0].tool.name == (
        "translate_text")
    assert len(router.route("anything", k=50).candidates) == len(toolnav.catalog)


def test_filters_restrict_candidates(toolnav):
    router = toolnav.router(RouteParams())
    only_travel = router.route("weather in Oslo", k=5, filters=ToolFilter(
        sources=frozenset({"travel"})))
    assert {c.tool.source for c in only_travel.candidates} == {"travel"}
    denied = router.route("weather in Oslo", k=3, filters=ToolFilter(
        deny=frozenset({"get_weather", "get_forecast"})))
    assert {"get_weather", "get_forecast"}.isdisjoint(c.tool.name for c in denied.candidates)
    tagged = router.route("weather", k=5, filters=ToolFilter(tags=frozenset({"marine"})))
    assert [c.tool.name for c in tagged.candidates] == ["ocean_conditions"]
    nothing = router.route("weather", k=5, filters=ToolFilter(allow=frozenset({"nope"})))
    assert nothing.candidates == [] and nothing.abstained


def test_a_failing_tool_drops_and_recovers(toolnav):
    request = "weather in Lyon"
    router = toolnav.router(RouteParams())
    assert router.route(request, k=1).candidates[0].tool.name == "get_weather"
    for _ in range(8):
        toolnav.catalog.record_outcome("get_weather", False)
    dropped = toolnav.router(RouteParams()).route(request, k=3).candidates
    assert dropped[0].tool.name != "get_weather"
    penalised = next(c for c in dropped if c.tool.name == "get_weather")
    assert 0 < penalised.reasons["feedback_penalty"] <= RouteParams().feedback_weight
    for _ in range(25):
        toolnav.catalog.record_outcome("get_weather", True)
    router = toolnav.router(RouteParams())
    assert router.route(request, k=1).candidates[0].tool.name == "get_weather"


def test_abstention_threshold(toolnav):
    params = RouteParams(abstain_below=0.99)
    result = toolnav.router(params).route("weather in Oslo", k=2)
    assert result.abstained and result.best_score < 0.99 and len(result.candidates) == 2
    assert not toolnav.router(RouteParams()).route("weather in Oslo", k=2).abstained


def test_bad_arguments_and_empty_catalog(toolnav, tmp_path, hashing_embedder):
    router = toolnav.router(RouteParams())
    with pytest.raises(ConfigError, match="unknown routing method 'semantic'"):
        router.route("x", method="semantic")
    with pytest.raises(ConfigError, match="k must be at least 1"):
        router.route("x", k=0)
    with pytest.raises(ConfigError, match="dense_weight must be in"):
        RouteParams(dense_weight=2)
    with Toolnav.open(tmp_path, embedder=hashing_embedder) as empty, \
            pytest.raises(EmptyCatalog, match="toolnav add"):
        empty.router()


def test_dense_weight_follows_the_model_unless_set(toolnav):
    assert toolnav.router(RouteParams()).dense_weight == BUNDLED_DENSE_WEIGHT  # the bundled model
    assert toolnav.router(RouteParams(dense_weight=0.3)).dense_weight == 0.3
    assert RouteParams().dense_weight_for(tuned=True) == TUNED_DENSE_WEIGHT
    assert RouteParams(dense_weight=0.3).dense_weight_for(tuned=True) == 0.3
    assert TUNED_DENSE_WEIGHT > BUNDLED_DENSE_WEIGHT


def test_split_intents_finds_sentences_and_chained_clauses():
    assert split_intents("Convert 30 dollars to euros and then email the result to Ann. "
                         "Finally book a table for two.") == [
        "Convert 30 dollars to euros", "email the result to Ann.", "Finally book a table for two."]
    assert split_intents("weather in Oslo") == []


def test_intent_spans_are_offsets_of_the_parts():
    request = "  Convert 30 dollars to euros,   and then email the result to Ann!  Ok.  "
    spans = intent_spans(request)
    assert [request[start:end] for start, end in spans] == split_intents(request) == [
        "Convert 30 dollars to euros,", "email the result to Ann!"]


def test_parts_are_embedded_separately_by_an_embedder_without_spans(tmp_path, real_embedder):
    """The fallback path: an embedder with only `embed` still gets every part scored."""
    seen: list[str] = []

    class PlainEmbedder:
        model_id, dim = real_embedder.model_id, real_embedder.dim

        def embed(self, texts):
            seen.extend(texts)
            return real_embedder.embed(texts)

    with Toolnav.open(tmp_path, embedder=PlainEmbedder()) as plain:
        plain.catalog.add_tools(TOOLS, source="all")
        router = plain.router()
        seen.clear()
        request = "Book a plane ticket to Rome. Then translate my note into Italian."
        names = {c.tool.name for c in router.route(request, k=2).candidates}
    assert seen == [request, *split_intents(request)]
    assert names == {"book_flight", "translate_text"}


def test_a_multi_step_request_keeps_every_needed_tool_near_the_top(toolnav):
    request = ("I am flying to Rome next week and need a plane ticket from Paris. "
               "Also translate my hotel booking note into Italian.")
    names = [c.tool.name for c in toolnav.router(RouteParams()).route(request, k=2).candidates]
    assert set(names) == {"book_flight", "translate_text"}


def test_tools_of_one_group_are_pulled_up_together(tmp_path, real_embedder):
    tools = [dataclasses.replace(tool, group=group) for tool, group in (
        (make_tool("list_jokes", "Page through a collection of jokes", page="Page"), "jokes"),
        (make_tool("joke_categories", "Categories of the collection"), "jokes"),
        (make_tool("list_categories_of_products", "Product categories of the shop"), "shop"),
        (make_tool("random_quote", "A random famous quote"), "quotes"),
    )]
    with Toolnav.open(tmp_path, embedder=real_embedder) as grouped:
        grouped.catalog.add_tools(tools, source="api")
        request = "Give me some jokes and the list of categories"
        pulled = grouped.router().route(request, k=2).candidates
        assert {c.tool.name for c in pulled} == {"list_jokes", "joke_categories"}
        assert (tmp_path / "lexical" / "manifest.json").is_file()  # BM25 saved for next open


def test_best_score_separates_fitting_from_unrelated_requests(toolnav):
    router = toolnav.router(RouteParams())
    fitting = router.route("convert 30 dollars to euros", k=1)
    unrelated = router.route("recommend a recipe for lasagne with spinach", k=1)
    assert fitting.best_score == pytest.approx(fitting.candidates[0].reasons["dense"])
    assert unrelated.best_score < fitting.best_score
    threshold = (unrelated.best_score + fitting.best_score) / 2
    calibrated = toolnav.router(RouteParams(abstain_below=threshold))
    assert calibrated.route("recommend a recipe for lasagne with spinach", k=1).abstained
    assert not calibrated.route("convert 30 dollars to euros", k=1).abstained


def test_lift_is_the_best_cosine_above_the_mean_cosine_of_the_searchable_tools(
        tmp_path, hashing_embedder):
    with Toolnav.open(tmp_path, embedder=hashing_embedder) as small:
        small.catalog.add_tools(TOOLS[:4], source="daily")
        small.catalog.add_tools(TOOLS[4:], source="travel")
        snapshot = small.maintainer.snapshot()
        request = "translate this email into French"
        query = hashing_embedder.embed([request])[0]
        cosines = dict(zip(snapshot.names, snapshot.vectors @ query, strict=True))
        router = small.router(RouteParams())
        whole = router.route(request, k=1)
        assert whole.best_score == pytest.approx(max(cosines.values()), abs=1e-5)
        assert whole.lift == pytest.approx(
            whole.best_score - np.mean(list(cosines.values())), abs=1e-5)
        # with a filter, the mean is over the tools the filter admits, not the whole catalog
        travel = [cosines[tool.name] for tool in TOOLS[4:]]
        scoped = router.route(request, k=1, filters=ToolFilter(sources=frozenset({"travel"})))
        assert scoped.best_score == pytest.approx(max(travel), abs=1e-5)
        assert scoped.lift == pytest.approx(max(travel) - np.mean(travel), abs=1e-5)
        assert scoped.lift != pytest.approx(scoped.best_score - np.mean(list(cosines.values())),
                                            abs=1e-3)


def test_lift_in_a_large_catalog_uses_a_fixed_sample_of_the_searchable_tools(
        tmp_path, hashing_embedder):
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "zeta"]
    tools = [make_tool(f"tool_{i}", f"{words[i % 9]} {words[i // 9 % 9]} {words[i // 81 % 9]}")
             for i in range(3 * CENTROID_SAMPLE)]
    with Toolnav.open(tmp_path, embedder=hashing_embedder) as large:
        large.catalog.add_tools(tools, source="large")
        snapshot = large.maintainer.snapshot()
        request = "alpha gamma theta"
        query = hashing_embedder.embed([request])[0]
        router = large.router(RouteParams())
        result = router.route(request, k=1)
        exact = result.best_score - float(np.mean(snapshot.vectors @ query))
        assert result.lift == pytest.approx(exact, abs=0.02)
        # the same estimate through a filter that admits every tool: the same fixed sample
        everything = ToolFilter(sources=frozenset({"large"}))
        assert router.route(request, k=1, filters=everything).lift == pytest.approx(
            result.lift, abs=1e-6)


def test_lift_threshold_abstains_alone_or_beside_the_cosine_threshold(toolnav):
    router = toolnav.router(RouteParams())
    fitting = router.route("convert 30 dollars to euros", k=1)
    unrelated = router.route("recommend a recipe for lasagne with spinach", k=1)
    assert 0 < unrelated.lift < fitting.lift < fitting.best_score
    threshold = (unrelated.lift + fitting.lift) / 2
    calibrated = toolnav.router(RouteParams(abstain_lift_below=threshold))
    assert calibrated.route("recommend a recipe for lasagne with spinach", k=1).abstained
    assert not calibrated.route("convert 30 dollars to euros", k=1).abstained
    # either threshold abstains when both are set; BM25 has no cosines and never abstains
    both = toolnav.router(RouteParams(abstain_lift_below=-2.0, abstain_below=0.99))
    assert both.route("convert 30 dollars to euros", k=1).abstained
    strict = toolnav.router(RouteParams(abstain_lift_below=2.0))
    lexical = strict.route("convert 30 dollars to euros", k=1, method="bm25")
    assert not lexical.abstained and lexical.lift == 0.0


def test_lift_threshold_from_the_environment():
    settings = Settings.from_env({"TOOLNAV_ABSTAIN_LIFT_BELOW": "0.31"})
    assert settings.route.abstain_lift_below == 0.31 and settings.route.abstain_below is None
    with pytest.raises(ConfigError, match=r"TOOLNAV_ABSTAIN_LIFT_BELOW: .* \[-2, 2\], got 3.0"):
        Settings.from_env({"TOOLNAV_ABSTAIN_LIFT_BELOW": "3"})
    both = Settings.from_env({"TOOLNAV_ABSTAIN_LIFT_BELOW": "0.3", "TOOLNAV_ABSTAIN_BELOW": "0.4"})
    assert (both.route.abstain_lift_below, both.route.abstain_below) == (0.3, 0.4)


def test_removed_gold_abstention_eval(toolnav):
    router = toolnav.router(RouteParams())
    texts = ["how many euros is 30 dollars", "mail my landlord that the rent is late"]
    gold = [["convert_currency"], ["send_email"]]
    normal, removed, recall = fit_scores(router, texts, gold)
    assert (removed < normal).all() and recall.tolist() == [1.0, 1.0]
    threshold = calibrate_threshold(router, texts, gold, target=1.0)
    report = abstention_report(router, texts, gold, threshold + 1e-6)
    assert report.abstained_without_gold == 1.0
    assert report.recall_drop == report.abstained_normal  # each abstained request had recall 1


def test_k_above_the_search_depth_still_returns_k_tools(tmp_path, hashing_embedder):
    tools = [make_tool(f"tool_{i}", f"does task number {i}") for i in range(300)]
    with Toolnav.open(tmp_path, embedder=hashing_embedder) as many:
        many.catalog.add_tools(tools, source="many")
        router = many.router(RouteParams(depth=100))
        for method in ("hybrid", "dense"):
            result = router.route("does a task", k=150, method=method)
            assert len(result.candidates) == 150
            assert len({c.tool.name for c in result.candidates}) == 150
        scoped = router.route("does a task", k=150, filters=ToolFilter(
            allow=frozenset(f"tool_{i}" for i in range(120))))
        assert len(scoped.candidates) == 120


def test_a_running_router_follows_catalog_changes(tmp_path, hashing_embedder):
    with Toolnav.open(tmp_path, embedder=hashing_embedder) as live:
        live.catalog.add_tools(TOOLS[:2], source="daily")
        first = live.router()
        assert live.router() is first                      # nothing changed: same router
        live.catalog.add_tools([TOOLS[2]], source="mail")
        names = {c.tool.name for c in live.router().route("send an email", k=3).candidates}
        assert "send_email" in names
        live.catalog.record_outcome("send_email", False)
        reweighed = live.router()
        assert reweighed is not first and reweighed.version == live.catalog.version


def test_a_namespace_filter_scopes_mcp_tools_by_server_and_others_by_source(toolnav):
    router = toolnav.router(RouteParams())
    travel = router.route("weather in Oslo", k=5, filters=ToolFilter(
        namespaces=frozenset({"travel"})))
    assert {c.tool.namespace for c in travel.candidates} == {"travel"}
    mcp_tool = dataclasses.replace(TOOLS[0], source="servers",
                                   binding={"kind": "mcp", "server": "meteo", "tool": "w"})
    assert mcp_tool.namespace == "meteo"
    assert ToolFilter(namespaces=frozenset({"meteo"})).admits(mcp_tool)
    assert not ToolFilter(namespaces=frozenset({"servers"})).admits(mcp_tool)


class _Bm25sScores:
    """BM25 scores straight from bm25s, as the router got them before toolnav scored saved
    indexes itself."""

    def __init__(self, texts):
        import bm25s
        import Stemmer

        self._stemmer = Stemmer.Stemmer("english")
        self._model = bm25s.BM25()
        self._model.index(bm25s.tokenize(texts, stemmer=self._stemmer, show_progress=False),
                          show_progress=False)
        self._size = len(texts)

    def scores_of(self, queries):
        import bm25s
        import numpy as np

        rows = []
        for query in queries:
            terms = bm25s.tokenize(query, stemmer=self._stemmer, show_progress=False,
                                   return_ids=False)[0]
            rows.append(np.asarray(self._model.get_scores(terms), dtype=np.float32) if terms
                        else np.zeros(self._size, dtype=np.float32))
        return np.stack(rows)


@pytest.mark.parametrize("method", ["hybrid", "bm25"])
def test_rankings_equal_those_from_bm25s_scores(toolnav, method):
    from toolnav.route import Router
    from toolnav.tool import lexical_text

    indexed = toolnav.maintainer.snapshot()
    reference = dataclasses.replace(indexed, lexical=_Bm25sScores(
        [lexical_text(tool) for tool in indexed.tools]))
    requests = ["how many euros is 30 dollars", "weather forecast for Oslo, then email it",
                "book a flight and translate the ticket text", "the of and", "waves at sea"]
    for filters in (None, ToolFilter(sources=frozenset({"daily", "marine"}))):
        got, expected = (Router(catalog, toolnav.embedder).route_batch(
            requests, k=7, method=method, filters=filters) for catalog in (indexed, reference))
        assert [[(c.tool.name, c.score, c.reasons) for c in result.candidates]
                for result in got] == [[(c.tool.name, c.score, c.reasons)
                                        for c in result.candidates] for result in expected]
        assert any(c.reasons["bm25"] > 0 for result in got for c in result.candidates)


@pytest.mark.timeout(200)
def test_warm_up_loads_the_encoder_and_only_the_dictionary_the_params_use(tmp_path):
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([{"name": "get_weather", "description": "Weather for a city."},
                                 {"name": "send_email", "description": "Send an email."}]))
    script = (
        "import pathlib; from toolnav import gloss; from toolnav.config import RouteParams, "
        "Settings; from toolnav.runtime import Toolnav\n"
        f"runtime = Toolnav.open(Settings(home=pathlib.Path({str(tmp_path / 'home')!r})))\n"
        f"runtime.catalog.add_source(pathlib.Path({str(tools)!r}))\n"
        "runtime.router(RouteParams(gloss=False)).warm_up()\n"
        "print('onnx-int8' in runtime.embedder._encoders, "
        "gloss._dictionary.cache_info().currsize)\n"
        "runtime.router(RouteParams()).warm_up()\n"
        "print(gloss._dictionary.cache_info().currsize)\n")
    without_gloss, with_gloss = python_output(script, timeout=180).splitlines()
    assert without_gloss == "True 0"  # the request encoder is loaded, the dictionary is not
    assert with_gloss == "1"
