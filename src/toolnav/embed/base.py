"""The Embedder protocol: texts in, L2-normalised float32 vectors out.

Example:
    vectors = embedder.embed(["send an email", "weather in Paris"])   # (2, embedder.dim)
    rows = embed_with_spans(embedder, ["a. b"], [[(0, 2)]])          # whole text, then the span
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Embedder", "Span", "embed_with_spans"]

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
