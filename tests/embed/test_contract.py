"""Every Embedder passes the same contract: shapes, unit rows, order, determinism, spans."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import HashingEmbedder
from toolnav.embed import Embedder, MiniLMEmbedder, embed_with_spans

TEXTS = ["send an email to my landlord", "weather in Paris tomorrow", "x",
         "convert 30 dollars to euros and then book a flight to Rome"]


@pytest.fixture(scope="module", params=["minilm-int8-requests", "minilm-fp32-requests",
                                        "hashing"])
def embedder(request) -> Embedder:
    if request.param == "hashing":
        return HashingEmbedder()
    return MiniLMEmbedder(request_encoder=request.param.split("-")[1])


def test_embedders_implement_the_protocol(embedder):
    assert isinstance(embedder, Embedder) and embedder.model_id and embedder.dim > 0


def test_rows_are_unit_float32_in_input_order_and_deterministic(embedder):
    vectors = embedder.embed(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), embedder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert np.allclose(embedder.embed(TEXTS[::-1])[::-1], vectors, atol=1e-5)
    assert np.allclose(embedder.embed(TEXTS[1:2])[0], vectors[1], atol=1e-5)
    assert embedder.embed([]).shape[0] == 0


def test_spans_give_one_row_per_part_after_the_whole_text(embedder):
    text = TEXTS[3]
    split = text.index(" and then ")
    rows = embed_with_spans(embedder, [text, TEXTS[0]], [[(0, split), (split + 10, len(text))],
                                                          []])
    assert [row.shape for row in rows] == [(3, embedder.dim), (1, embedder.dim)]
    assert np.allclose(np.linalg.norm(rows[0], axis=1), 1.0, atol=1e-4)
    # a part is closer to its own words than to the other part's
    parts = embedder.embed(["convert 30 dollars to euros", "book a flight to Rome"])
    assert float(rows[0][1] @ parts[0]) > float(rows[0][1] @ parts[1])
