"""The VectorIndex protocol every index backend implements (flat, NSG, Qdrant).

Vectors are float32, L2-normalised, one row per id; scores are inner products (cosine
similarity), higher is better. Ids are non-negative int64 chosen by the caller (the catalog's
tool ids). Backends validate input and raise `VectorIndexError` with a precise message.

Example:
    index.add(np.array([7, 9]), vectors)          # vectors: float32 (2, dim)
    ids, scores = index.search(query, k=1)        # query: (dim,) or (n, dim)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, Self, runtime_checkable

import numpy as np

__all__ = ["VectorIndex"]


@runtime_checkable
class VectorIndex(Protocol):
    """A set of (id, vector) pairs searchable by inner product."""

    @property
    def dim(self) -> int:
        """Dimension of the stored vectors."""
        ...

    def __len__(self) -> int:
        """Number of live (not deleted) vectors."""
        ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert vectors under new ids; an id already present is an error."""
        ...

    def remove(self, ids: Iterable[int]) -> None:
        """Delete ids; an id not present is an error."""
        ...

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """The k best ids and scores, best first; 1-D query -> 1-D results, 2-D -> 2-D.

        *allowed* restricts the results to those ids (each must be in the index; k must not
        exceed their number).
        """
        ...

    def ids(self) -> np.ndarray:
        """The live ids (int64), in no particular order."""
        ...

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored (float32, unit) vectors of *ids*, in that order; an absent id is an
        error."""
        ...

    def save(self, path: Path) -> None:
        """Write the index to a directory, atomically."""
        ...

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read an index written by `save`; a corrupted or foreign directory is refused."""
        ...
