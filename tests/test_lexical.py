"""BM25 lexical index: ranking by words, alignment with ids, persistence keyed on a version."""

import numpy as np
import pytest

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
    (directory / "ids.npy").write_bytes(b"garbage")
    index = LexicalIndex.open(directory, "v1", IDS, TEXTS)
    assert index.scores("email").argmax() == 1


def test_mismatched_ids_and_texts_are_refused():
    with pytest.raises(VectorIndexError, match="2 ids but 1 texts"):
        LexicalIndex([1, 2], ["one"])
