"""The Embedder protocol: texts in, L2-normalised float32 vectors out.

Example:
    vectors = embedder.embed(["send an email", "weather in Paris"])   # (2, embedder.dim)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Embedder"]


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
