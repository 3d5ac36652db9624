"""Opening toolnav's SQLite files: autocommit connections in WAL mode, shared across threads."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from toolnav.errors import CatalogError

__all__ = ["connect"]

BUSY_TIMEOUT_MS = 10_000


def connect(path: Path, schema: str, what: str) -> sqlite3.Connection:
    """Open *path* (creating its folder), apply *schema*; a foreign file is a `CatalogError`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        db.executescript(schema)
    except sqlite3.DatabaseError as error:
        raise CatalogError(f"{path}: not a usable {what} ({error}); move it away or choose "
                           "another --home") from None
    return db
