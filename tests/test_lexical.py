"""BM25 lexical index: ranking by words, alignment with ids, persistence keyed on a version."""

import json

import numpy as np
import pytest

from tests.conftest import python_output
from toolnav.errors import VectorIndexError
from toolnav.lexical import LexicalIndex

TEXTS = ["get weather for a city", "send an email to a recipient",
         "convert currency amounts between currencies", "weather forecast for coming days"]
IDS = [10, 20, 30, 40]

pytestmark = pytest.mark.timeout(60)


def test_scores_align_with_ids_and_rank_matches_first():
    index = LexicalIndex(IDS, TEXTS)
    scores = index.scores("currency conversion")
    assert scores.shape == (4,) and scores.argmax() == 2 and scores[0] == 0
    weather = index.scores("weather")
    assert set(np.flatnonzero(weather > 0)) == {0, 3}
    assert index.tokens("The emails") == ["email"]  # stop word dropped, stemmed


def test_query_terms_match_the_tokenizer_that_built_the_index():
    import bm25s
    import Stemmer

    index = LexicalIndex(IDS, TEXTS)
    texts = ["Convert 30 USD to EUR, then e-mail it!", "naïve café's forecasts", "a I x",
             "getWeatherForecast_v2 (city=Paris)", "THE running runners ran", "", "东京 天气"]
    expected = bm25s.tokenize(texts, stemmer=Stemmer.Stemmer("english"), show_progress=False,
                              return_ids=False)
    assert [index.tokens(text) for text in texts] == expected


def test_queries_without_known_terms_score_nothing():
    index = LexicalIndex(IDS, TEXTS)
    assert not index.scores("the of and").any()
    assert not index.scores("zyxxy").any()


def test_open_saves_then_loads_for_the_same_key_and_rebuilds_for_another(tmp_path):
    directory = tmp_path / "lexical"
    built = LexicalIndex.open(directory, "v1", IDS, TEXTS)
    assert (directory / "manifest.json").is_file()

    def never_called():
        raise AssertionError("a saved index for the same key must be loaded, not rebuilt")

    loaded = LexicalIndex.open(directory, "v1", IDS, never_called)
    np.testing.assert_allclose(loaded.scores("weather city"), built.scores("weather city"))
    rebuilt = LexicalIndex.open(directory, "v2", IDS, TEXTS[::-1])
    assert rebuilt.scores("email").argmax() == 2
    changed_ids = LexicalIndex.open(directory, "v2", [1, 2, 3, 4], TEXTS)
    assert changed_ids.scores("email").argmax() == 1


def test_a_corrupted_saved_index_is_rebuilt(tmp_path):
    directory = tmp_path / "lexical"
    LexicalIndex.open(directory, "v1", IDS, TEXTS)
    (directory / "scores.npz").write_bytes(b"garbage")
    index = LexicalIndex.open(directory, "v1", IDS, TEXTS)
    assert index.scores("email").argmax() == 1
    (directory / "vocabulary.json").write_text('{"terms": ["email"], "stopwords": []}')
    assert LexicalIndex.load(directory, "v1", IDS) is None  # fewer terms than the arrays name


def test_scores_equal_bm25s_within_a_float32_step_built_loaded_and_on_a_larger_corpus(tmp_path):
    import bm25s
    import Stemmer

    words = ["weather", "city", "email", "send", "convert", "currency", "forecast", "invoice",
             "customer", "order", "ticket", "flight", "hotel", "booking", "cancel", "refund",
             "running", "runners", "list", "get"]
    rng = np.random.default_rng(15)
    texts = [*TEXTS, *(" ".join(rng.choice(words, size=rng.integers(1, 12)))
                       for _ in range(300))]
    ids = list(range(100, 100 + len(texts)))
    stemmer = Stemmer.Stemmer("english")
    reference = bm25s.BM25()
    reference.index(bm25s.tokenize(texts, stemmer=stemmer, show_progress=False),
                    show_progress=False)
    built = LexicalIndex.open(tmp_path / "lexical", "v1", ids, texts)
    loaded = LexicalIndex.load(tmp_path / "lexical", "v1", ids)
    queries = ["cancel my hotel booking", "weather weather city", "the runners' running list",
               "refund an invoice for customer order 42", "zyxxy email", "get get get flights"]
    for query in queries:
        terms = bm25s.tokenize(query, stemmer=stemmer, show_progress=False, return_ids=False)[0]
        expected = np.asarray(reference.get_scores(terms), dtype=np.float32)
        assert expected.any()
        # Summed in float64, then rounded: within one float32 step of bm25s's float32 sum.
        np.testing.assert_allclose(built.scores(query), expected, rtol=2e-7, err_msg=query)
        np.testing.assert_allclose(loaded.scores(query), expected, rtol=2e-7, err_msg=query)


@pytest.mark.timeout(120)
def test_loading_a_saved_index_and_scoring_imports_neither_bm25s_nor_numba_nor_scipy(tmp_path):
    directory = tmp_path / "lexical"
    expected = LexicalIndex.open(directory, "v1", IDS, TEXTS).scores("weather forecast")
    script = ("import sys, numpy as np; from toolnav.lexical import LexicalIndex; "
              f"index = LexicalIndex.load(__import__('pathlib').Path({str(directory)!r}), 'v1', "
              f"{IDS!r}); print(index.scores('weather forecast').tolist()); "
              "print(sorted(m for m in ('bm25s', 'numba', 'scipy') if m in sys.modules))")
    scores, modules = python_output(script, timeout=100).splitlines()
    assert json.loads(scores) == expected.tolist()
    assert modules == "[]"


def test_mismatched_ids_and_texts_are_refused():
    with pytest.raises(VectorIndexError, match="2 ids but 1 texts"):
        LexicalIndex([1, 2], ["one"])


def test_a_lone_surrogate_in_a_text_survives_save_and_load(tmp_path):
    texts = ["caf\udce9 menu prices", "send an email"]
    built = LexicalIndex.open(tmp_path / "lexical", "v1", [1, 2], texts)
    loaded = LexicalIndex.load(tmp_path / "lexical", "v1", [1, 2])
    assert loaded is not None
    assert np.array_equal(loaded.scores("caf\udce9 prices"), built.scores("caf\udce9 prices"))
    assert loaded.scores("caf\udce9").argmax() == 0 and loaded.scores("caf\udce9").any()
