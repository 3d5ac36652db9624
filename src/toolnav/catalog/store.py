"""SQLite persistence for the catalog: tools, downstream server configs, a change counter, and
per-tool feedback.

One file (``catalog.db``) in WAL mode; every multi-row change is a single transaction, so a
failed or interrupted update leaves the previous catalog intact. Orchestration (sources,
namespacing, indexing) lives in `toolnav.catalog.catalog`.

Example:
    store = SQLiteCatalogStore(home / "catalog.db")
    store.replace_source("weather", tools)
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from toolnav.catalog._sqlite import connect
from toolnav.errors import CatalogError
from toolnav.tool import Tool

__all__ = ["CatalogEntry", "SQLiteCatalogStore", "SourceChange"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tools (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    original_name TEXT NOT NULL,
    source TEXT NOT NULL,
    data TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tools_source ON tools (source, original_name);
CREATE TABLE IF NOT EXISTS servers (name TEXT PRIMARY KEY, source TEXT NOT NULL,
                                    config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
    name TEXT PRIMARY KEY,
    success_rate REAL NOT NULL,
    outcomes INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class CatalogEntry:
    """A stored tool with its stable integer id (also its id in the vector index)."""

    id: int
    tool: Tool
    original_name: str


@dataclass(frozen=True)
class SourceChange:
    """What replacing one source's tools did."""

    source: str
    added: list[str]
    updated: list[str]
    unchanged: int
    removed: list[str]
    renamed: dict[str, str]


class SQLiteCatalogStore:
    """The catalog's tables in one SQLite file."""

    def __init__(self, path: Path):
        self._db = connect(path, _SCHEMA, "toolnav catalog")
        found = self._meta("schema_version")
        if found is None:
            self._set_meta("schema_version", str(SCHEMA_VERSION))
        elif int(found) != SCHEMA_VERSION:
            raise CatalogError(f"{path}: catalog schema version {found}, this toolnav reads "
                               f"{SCHEMA_VERSION}; re-create it with `toolnav add`")
        self.path = path

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    @property
    def version(self) -> int:
        """A counter that increases with every change to the set of tools."""
        return int(self._meta("version") or 0)

    def entries(self) -> list[CatalogEntry]:
        """Every stored tool, in id order."""
        rows = self._db.execute("SELECT id, data, original_name FROM tools ORDER BY id")
        return [_entry(row) for row in rows]

    def get(self, name: str) -> CatalogEntry | None:
        """The entry with that exact name, if any."""
        row = self._db.execute("SELECT id, data, original_name FROM tools WHERE name = ?",
                               (name,)).fetchone()
        return _entry(row) if row else None

    def count(self) -> int:
        """Number of stored tools."""
        return self._db.execute("SELECT COUNT(*) FROM tools").fetchone()[0]

    def sources(self) -> dict[str, int]:
        """Tool count per source."""
        rows = self._db.execute("SELECT source, COUNT(*) FROM tools GROUP BY source ORDER BY 1")
        return dict(rows.fetchall())

    def replace_source(self, source: str, tools: Iterable[Tool], *, separator: str = "__"
                       ) -> SourceChange:
        """Make the catalog hold exactly *tools* for *source*, in one transaction.

        Each tool's ``source`` becomes *source*. A tool whose name another source already uses
        is stored as ``source__name``.
        """
        tools = [tool if tool.source == source else replace(tool, source=source) for tool in tools]
        now = time.time()
        added, updated, removed = [], [], []
        renamed: dict[str, str] = {}
        unchanged = 0
        with self._transaction():
            existing = {row[0]: (row[1], row[2]) for row in self._db.execute(
                "SELECT original_name, name, content_hash FROM tools WHERE source = ?",
                (source,))}
            for tool in tools:
                if tool.name in existing:
                    stored_name, stored_hash = existing.pop(tool.name)
                    final = replace(tool, name=stored_name)
                    if final.content_hash == stored_hash:
                        unchanged += 1
                        continue
                    self._db.execute(
                        "UPDATE tools SET data = ?, content_hash = ?, updated_at = ? "
                        "WHERE name = ?", (_dump(final), final.content_hash, now, stored_name))
                    updated.append(stored_name)
                    continue
                final = tool
                if self._name_taken(tool.name):
                    final = replace(tool, name=f"{source}{separator}{tool.name}")
                    if self._name_taken(final.name):
                        raise CatalogError(f"cannot add {tool.name!r} from {source!r}: both "
                                           f"{tool.name!r} and {final.name!r} are taken")
                    renamed[tool.name] = final.name
                self._db.execute(
                    "INSERT INTO tools (name, original_name, source, data, content_hash, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (final.name, tool.name, source, _dump(final), final.content_hash, now))
                added.append(final.name)
            for stored_name, _ in existing.values():
                self._db.execute("DELETE FROM tools WHERE name = ?", (stored_name,))
                removed.append(stored_name)
            if added or updated or removed:
                self._bump_version()
        return SourceChange(source, added, updated, unchanged, removed, renamed)

    def remove(self, names: Iterable[str]) -> int:
        """Delete tools by name; returns how many existed."""
        with self._transaction():
            count = sum(self._db.execute("DELETE FROM tools WHERE name = ?", (name,)).rowcount
                        for name in names)
            if count:
                self._bump_version()
        return count

    def put_servers(self, source: str, servers: Mapping[str, Mapping[str, Any]]) -> None:
        """Make *servers* (name -> config, secrets included) the server configs of *source*.

        Raises:
            CatalogError: a server name is already defined by another source.
        """
        with self._transaction():
            for name in servers:
                row = self._db.execute("SELECT source FROM servers WHERE name = ?",
                                       (name,)).fetchone()
                if row and row[0] != source:
                    raise CatalogError(f"MCP server {name!r} is already defined by source "
                                       f"{row[0]!r}; rename it in one of the two")
            self._db.execute("DELETE FROM servers WHERE source = ?", (source,))
            self._db.executemany("INSERT INTO servers VALUES (?, ?, ?)", [
                (name, source, json.dumps(config, sort_keys=True))
                for name, config in servers.items()])

    def server_config(self, name: str) -> dict[str, Any] | None:
        """The stored config of downstream server *name*, or None."""
        row = self._db.execute("SELECT config FROM servers WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def feedback(self) -> dict[str, tuple[float, int]]:
        """Tool name -> (success rate as an exponentially weighted average, outcome count)."""
        rows = self._db.execute("SELECT name, success_rate, outcomes FROM feedback")
        return {name: (rate, outcomes) for name, rate, outcomes in rows}

    def record_outcome(self, name: str, success: bool, alpha: float) -> tuple[float, int]:
        """Fold one call outcome into the tool's weighted success rate; returns the new state."""
        if not 0.0 < alpha <= 1.0:
            raise CatalogError(f"feedback alpha must be in (0, 1], got {alpha}")
        with self._transaction():
            row = self._db.execute("SELECT success_rate, outcomes FROM feedback WHERE name = ?",
                                   (name,)).fetchone()
            rate, outcomes = row if row else (1.0, 0)
            rate = (1 - alpha) * rate + alpha * (1.0 if success else 0.0)
            self._db.execute("INSERT OR REPLACE INTO feedback VALUES (?, ?, ?)",
                             (name, rate, outcomes + 1))
        return rate, outcomes + 1

    def _name_taken(self, name: str) -> bool:
        row = self._db.execute("SELECT 1 FROM tools WHERE name = ?", (name,)).fetchone()
        return row is not None

    def _bump_version(self) -> None:
        self._set_meta("version", str(self.version + 1))

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


def _entry(row: tuple[int, str, str]) -> CatalogEntry:
    # Stored records were validated on the way in; re-checking schemas would cost ~1 ms each.
    return CatalogEntry(row[0], Tool.from_dict(json.loads(row[1]), trusted=True), row[2])


def _dump(tool: Tool) -> str:
    return json.dumps(tool.to_dict(), ensure_ascii=False, sort_keys=True)
