"""RequestMemo: request vectors computed once, equal to the wrapped embedder's."""

import numpy as np

from tests.conftest import HashingEmbedder
from toolnav.embed import RequestMemo, embed_with_spans


def test_request_vectors_are_the_wrapped_ones_and_computed_once():
    inner = HashingEmbedder()
    memo = RequestMemo(inner)
    texts, spans = ["send mail. then call bob", "weather in paris"], [[(0, 9)], []]
    first = memo.embed_spans(texts, spans)
    expected = embed_with_spans(HashingEmbedder(), texts, spans)
    assert all(np.array_equal(a, b) for a, b in zip(first, expected, strict=True))
    embedded = inner.texts_embedded
    again = memo.embed_spans(list(reversed(texts)), list(reversed(spans)))
    assert inner.texts_embedded == embedded  # nothing embedded the second time
    assert np.array_equal(again[0], first[1]) and np.array_equal(again[1], first[0])
    assert (memo.model_id, memo.dim, memo.tuned) == (inner.model_id, inner.dim, False)


def test_tool_vectors_pass_through():
    inner = HashingEmbedder()
    vectors = RequestMemo(inner).embed(["a tool"])
    assert np.array_equal(vectors, HashingEmbedder().embed(["a tool"]))
    assert inner.texts_embedded == 1
