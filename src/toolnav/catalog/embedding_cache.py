"""Embeddings cached by (model, text): re-indexing an unchanged tool costs no model work.

The cache is its own SQLite file so that several catalogs (for example the per-dataset and union
catalogs of an evaluation) share one set of embeddings.

Example:
    cache = EmbeddingCache(home / "embeddings.db")
    found = cache.get_many([embedding_key(model_id, text)])
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from toolnav.errors import CatalogError

__all__ = ["EmbeddingCache", "embedding_key"]

_BATCH = 500


def embedding_key(model_id: str, text: str) -> str:
    """The cache key of *text* embedded by *model_id*."""
    return hashlib.sha256(f"{model_id}\n{text}".encode()).hexdigest()


class EmbeddingCache:
    """Float32 vectors keyed by `embedding_key`, persisted in SQLite (WAL)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.execute("CREATE TABLE IF NOT EXISTS embeddings "
                             "(key TEXT PRIMARY KEY, dim INTEGER NOT NULL, vector BLOB NOT NULL)")
        except sqlite3.DatabaseError as error:
            raise CatalogError(f"{path}: not a usable embedding cache ({error}); delete it and "
                               "it will be rebuilt") from None

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among *keys* (missing keys are simply absent)."""
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), _BATCH):
            chunk = keys[start:start + _BATCH]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, dim, vector FROM embeddings WHERE key IN ({marks})", chunk)
            for key, dim, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (dim,):
                    found[key] = vector
        return found

    def put_many(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors (rows of a float32 array) under *keys*, in one transaction."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        rows = [(key, vectors.shape[1], vectors[i].tobytes()) for i, key in enumerate(keys)]
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)", rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()
