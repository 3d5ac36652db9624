"""Embeddings cached by (model, text): re-indexing an unchanged tool costs no model work.

The cache is its own SQLite file so that several catalogs (for example the per-dataset and union
catalogs of an evaluation) share one set of embeddings.

Example:
    cache = EmbeddingCache(home / "embeddings.db")
    found = cache.get_many([embedding_key(model_id, text)])
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from toolnav.catalog._sqlite import ThreadConnections

if TYPE_CHECKING:  # numpy loads on first use: `toolnav tools` and `add` never need it
    import numpy as np

__all__ = ["EmbeddingCache", "embedding_key"]

_BATCH = 500
_SCHEMA = ("CREATE TABLE IF NOT EXISTS embeddings "
           "(key TEXT PRIMARY KEY, dim INTEGER NOT NULL, vector BLOB NOT NULL);")


def embedding_key(model_id: str, text: str) -> str:
    """The cache key of *text* embedded by *model_id*."""
    return hashlib.sha256(f"{model_id}\n{text}".encode()).hexdigest()


class EmbeddingCache:
    """Float32 vectors keyed by `embedding_key`, persisted in SQLite (WAL)."""

    def __init__(self, path: Path):
        self._connections = ThreadConnections(path, _SCHEMA, "embedding cache")

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among *keys* (missing keys are simply absent)."""
        import numpy as np

        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), _BATCH):
            chunk = keys[start:start + _BATCH]
            marks = ",".join("?" * len(chunk))
            rows = self._connections.db.execute(
                f"SELECT key, dim, vector FROM embeddings WHERE key IN ({marks})", chunk)
            for key, dim, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (dim,):
                    found[key] = vector
        return found

    def put_many(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors (rows of a float32 array) under *keys*, in one transaction."""
        import numpy as np

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        rows = [(key, vectors.shape[1], vectors[i].tobytes()) for i, key in enumerate(keys)]
        with self._connections.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        """Close the database connections."""
        self._connections.close()
