"""The label-free request table: distilled from the bundled model on a catalog, no requests."""

import json

import numpy as np
import pytest

from tests.conftest import run_toolnav as toolnav
from toolnav.config import RouteParams, Settings
from toolnav.embed import MiniLMEmbedder, label_free_table, load_default_embedder
from toolnav.embed.local import load_tokenizer
from toolnav.embed.request_table import TABLE_FILE, TableEncoder
from toolnav.errors import EmbeddingError
from toolnav.runtime import Toolnav
from toolnav.tool import Tool
from toolnav.tuning.label_free import INFO_FILE, pseudo_requests, write_label_free_table

TOOLS = {"get_weather": "Current weather conditions for a city. Needs the city name.",
         "send_email": "Send an email to a recipient. The body is plain text.",
         "convert_currency": "Convert an amount between currencies at today's rate.",
         "book_flight": "Book a plane ticket between two airports",
         "translate_text": "Translate text into another language",
         "set_alarm": "Set an alarm clock for a time. Repeats daily if asked."}
ASKS = {"is it raining in Oslo": "get_weather", "mail the invoice to Ann": "send_email",
        "how many yen is 20 euros": "convert_currency", "fly me to Tokyo": "book_flight",
        "say this in German": "translate_text", "wake me at 6": "set_alarm"}


def catalog_file(tmp_path):
    path = tmp_path / "tools.json"
    path.write_text(json.dumps([{"name": n, "description": d} for n, d in TOOLS.items()]))
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A home whose six-tool catalog has a label-free table (two epochs)."""
    home = tmp_path_factory.mktemp("home")
    stages = []
    with Toolnav.open(Settings(home=home)) as runtime:
        runtime.catalog.add_source(catalog_file(home))
        report = write_label_free_table(runtime, home / "model", epochs=2,
                                        progress=lambda *args: stages.append(args))
    assert report.tool_texts == 6 and report.pseudo_requests == 9
    assert report.path == home / "model" / TABLE_FILE
    tokens = [stage for stage in stages if "tokens alone" in stage[0]]
    assert tokens[-1][1:] == (30522, 30522)          # the single-token pass reports progress
    assert stages[-1][0].startswith("training the request table") and stages[-1][1] == 2
    return home


def test_a_second_table_reuses_the_cached_single_token_vectors(home, tmp_path):
    cached = MiniLMEmbedder().cache_dir / "sentence-transformers-all-MiniLM-L6-v2@256-tokens.npy"
    assert np.load(cached).shape == (30522, 384)
    stages = []
    with Toolnav.open(Settings(home=home)) as runtime:
        write_label_free_table(runtime, tmp_path / "model", epochs=1,
                               progress=lambda *args: stages.append(args))
    assert [stage[1:] for stage in stages if "tokens alone" in stage[0]] == [(30522, 30522)]
    assert (tmp_path / "model" / TABLE_FILE).is_file()


def test_pseudo_requests_are_the_descriptions_sentences_once():
    tools = [Tool("a", "Current weather. Needs the city name! Needs the city name.\nOne two"),
             Tool("b", "e.g. v2. Needs the city name.")]
    assert pseudo_requests(tools) == ["Needs the city name!", "Needs the city name."]


def test_the_table_loads_and_requests_use_it_while_tools_keep_the_transformer(home):
    assert label_free_table(home) == home / "model" / TABLE_FILE
    info = json.loads((home / "model" / INFO_FILE).read_text())
    assert info["labels"] == "none" and info["tool_texts"] == 6
    tokenizer = load_tokenizer(MiniLMEmbedder().model_dir)
    TableEncoder(home / "model" / TABLE_FILE, tokenizer.get_vocab_size(), 384, [0])
    embedder = load_default_embedder(home)
    bundled = MiniLMEmbedder()
    assert embedder.request_encoder == "table" and not embedder.tuned
    assert embedder.model_id == bundled.model_id        # the cache and index stay valid
    assert np.array_equal(embedder.embed(list(TOOLS)), bundled.embed(list(TOOLS)))
    fast = embedder.embed_spans(list(ASKS), [[]] * len(ASKS))
    slow = bundled.embed_spans(list(ASKS), [[]] * len(ASKS))
    assert not np.allclose(fast[0], slow[0], atol=1e-3)  # not the transformer
    with Toolnav.open(Settings(home=home)) as runtime:
        assert runtime.embedder.request_encoder == "table"
        router = runtime.router(RouteParams())
        found = [router.route(ask, k=1).candidates[0].tool.name for ask in ASKS]
    assert sum(name == tool for name, tool in zip(found, ASKS.values(), strict=True)) >= 5


def test_label_free_training_refuses_a_tuned_catalog_or_an_empty_one(tmp_path):
    with (Toolnav.open(Settings(home=tmp_path / "empty")) as runtime,
          pytest.raises(EmbeddingError, match="the catalog has no tools")):
        write_label_free_table(runtime, tmp_path / "empty" / "model")

    class Tuned:
        model_id = "sentence-transformers/all-MiniLM-L6-v2+tuned-0123@256"

    with (Toolnav.open(Settings(home=tmp_path / "tuned"), embedder=Tuned()) as runtime,
          pytest.raises(EmbeddingError, match=r"embedded by .*\+tuned-0123@256.*--reset")):
        write_label_free_table(runtime, tmp_path / "tuned" / "model")
    assert not (tmp_path / "tuned" / "model").exists()
    with pytest.raises(EmbeddingError, match=r"there is no request table at .*--label-free"):
        MiniLMEmbedder(request_table=tmp_path / "missing.npy")


@pytest.mark.timeout(600)
def test_tune_label_free_then_search_then_reset(tmp_path):
    home = tmp_path / "home"
    refused = toolnav(home, "tune", "--label-free", check_exit=1).stderr
    assert "the catalog is empty; add tools with `toolnav add SOURCE`" in refused
    toolnav(home, "add", str(catalog_file(tmp_path)))
    trained = toolnav(home, "tune", "--label-free", "--epochs", "1").stdout
    assert "label-free request table trained on 6 tool texts and 9 pseudo-requests" in trained
    assert (home / "model" / TABLE_FILE).is_file()
    assert "0 embedded" in toolnav(home, "index").stdout       # tools keep their vectors
    searched = toolnav(home, "search", "is it raining in Oslo", "--json",
                       env={"TOOLNAV_REQUEST_ENCODER": "table"})
    assert json.loads(searched.stdout)["candidates"][0]["name"] == "get_weather"
    both = toolnav(home, "tune", "--label-free", "--reset", check_exit=1).stderr
    assert "--reset and --label-free exclude each other" in both
    assert "tuned model and request table removed" in toolnav(home, "tune", "--reset").stdout
    assert not (home / "model").exists()
    untuned = toolnav(home, "search", "weather", env={"TOOLNAV_REQUEST_ENCODER": "table"},
                      check_exit=1).stderr
    assert "the bundled model has no request table; `toolnav tune --label-free`" in untuned
    (home / "model").mkdir()
    (home / "model" / "toolnav-tuning.json").write_text("{}")  # as a labelled tune leaves it
    tuned = toolnav(home, "tune", "--label-free", check_exit=1).stderr
    assert "holds a model tuned on labelled requests" in tuned and "--reset" in tuned
