"""The Embedder protocol: texts in, L2-normalised float32 vectors out.

Example:
    vectors = embedder.embed(["send an email", "weather in Paris"])   # (2, embedder.dim)
    rows = embed_with_spans(embedder, ["a. b"], [[(0, 2)]])          # whole text, then the span
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Embedder", "RequestMemo", "Span", "WrappedEmbedder", "embed_with_spans"]

Span = tuple[int, int]  # (start, end) character offsets into a text


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to unit-length float32 vectors."""

    @property
    def model_id(self) -> str:
        """Identifies model and runtime; part of every embedding-cache key."""
        ...

    @property
    def dim(self) -> int:
        """Vector dimension."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into a float32 array of shape (len(texts), dim), rows of unit norm."""
        ...


def embed_with_spans(embedder: Embedder, texts: Sequence[str],
                     spans: Sequence[Sequence[Span]]) -> list[np.ndarray]:
    """Per request, its vector and its spans' vectors, (1 + len(spans[i]), dim).

    Uses the embedder's own `embed_spans` (its request path: one forward pass per text) when it
    has one, and otherwise embeds each span's substring with `embed`.
    """
    own = getattr(embedder, "embed_spans", None)
    if own is not None:
        return own(texts, spans)
    pieces = [[text, *(text[start:end] for start, end in text_spans)]
              for text, text_spans in zip(texts, spans, strict=True)]
    vectors = embedder.embed([piece for group in pieces for piece in group])
    bounds = np.cumsum([0, *(len(group) for group in pieces)])
    return [vectors[bounds[i]:bounds[i + 1]] for i in range(len(pieces))]


class WrappedEmbedder:
    """Base of embedders that change how *embedder* embeds requests (`embed_spans`): tools
    pass straight through, and the model id, dimension and ``tuned`` flag are the wrapped
    one's."""

    def __init__(self, embedder: Embedder):
        self._embedder = embedder
        self.model_id, self.dim = embedder.model_id, embedder.dim
        self.tuned = getattr(embedder, "tuned", False)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The wrapped embedder's tool vectors."""
        return self._embedder.embed(texts)


class RequestMemo(WrappedEmbedder):
    """*embedder*, remembering request vectors (`embed_spans`); tools pass straight through.

    For callers that route the same requests many times (evaluation folds, latency benchmarks
    that take the model out): the second routing of a request costs no forward pass.
    """

    def __init__(self, embedder: Embedder):
        super().__init__(embedder)
        self._spans: dict[tuple[str, tuple[Span, ...]], np.ndarray] = {}

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[Span]]
                    ) -> list[np.ndarray]:
        """As `embed_with_spans` on the wrapped embedder, each (text, spans) computed once."""
        keys = [(text, tuple(text_spans)) for text, text_spans in zip(texts, spans, strict=True)]
        missing = list(dict.fromkeys(key for key in keys if key not in self._spans))
        if missing:
            vectors = embed_with_spans(self._embedder, [text for text, _ in missing],
                                       [list(text_spans) for _, text_spans in missing])
            self._spans.update(zip(missing, vectors, strict=True))
        return [self._spans[key] for key in keys]
