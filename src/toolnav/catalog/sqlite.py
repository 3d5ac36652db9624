"""The embedded catalog store: tools, server configurations, feedback and a version in SQLite.

The ``meta`` table keeps the version and a random revision redrawn at every version bump; the
two make the store's fingerprint (`CatalogStore.fingerprint`).

One file (``catalog.db``) in WAL mode, one connection per thread; every multi-row change is a
single ``BEGIN IMMEDIATE`` transaction, so a failed or interrupted update leaves the previous
catalog intact and concurrent writers (threads or processes) take turns. Homes written by
earlier versions are migrated on open (schema 1 kept each MCP server's configuration, secrets
included, inside every tool's binding; schema 2 stores it once per server).

Example:
    store = SQLiteCatalogStore(home / "catalog.db")
    store.replace_source("weather", tools)
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from toolnav.catalog._sqlite import ThreadConnections
from toolnav.catalog.base import CatalogEntry, RoutingRows, SourceChange
from toolnav.catalog.records import stored_tool
from toolnav.errors import CatalogError
from toolnav.tool import NAMESPACE_SEPARATOR, Tool

__all__ = ["SQLiteCatalogStore"]

SCHEMA_VERSION = 2

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
CREATE TABLE IF NOT EXISTS servers (
    name TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    config TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS source_digests (
    source TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    tools INTEGER NOT NULL,
    last_update REAL
);
CREATE TABLE IF NOT EXISTS feedback (
    name TEXT PRIMARY KEY,
    success_rate REAL NOT NULL,
    outcomes INTEGER NOT NULL
);
"""


class SQLiteCatalogStore:
    """The catalog's tables in one SQLite file (see the module docstring).

    Raises:
        CatalogError: the file is not a catalog, or was written by a newer toolnav.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._connections = ThreadConnections(self.path, _SCHEMA, "toolnav catalog")
        with self._connections.transaction() as db:
            found = _meta(db, "schema_version")
            if found is None:
                _set_meta(db, "schema_version", str(SCHEMA_VERSION))
            elif int(found) > SCHEMA_VERSION:
                raise CatalogError(f"{path}: catalog schema version {found} was written by a "
                                   f"newer toolnav (this one reads up to {SCHEMA_VERSION}); "
                                   "upgrade toolnav or choose another --home")
            elif int(found) < SCHEMA_VERSION:
                _migrate_bindings_to_servers(db)
                _set_meta(db, "schema_version", str(SCHEMA_VERSION))
            if _meta(db, "revision") is None:  # a new store, or one from before revisions
                _set_meta(db, "revision", _new_revision())

    def close(self) -> None:
        """Close every connection."""
        self._connections.close()

    @property
    def version(self) -> int:
        """A counter that increases with every change to the set of tools."""
        return int(_meta(self._connections.db, "version") or 0)

    @property
    def feedback_version(self) -> int:
        """A counter that increases with every recorded outcome."""
        return int(_meta(self._connections.db, "feedback_version") or 0)

    @property
    def fingerprint(self) -> str:
        """``version.revision``: the revision is drawn at random at every version bump."""
        return _fingerprint(self._connections.db)

    def entries(self) -> list[CatalogEntry]:
        """Every stored tool, in id order."""
        rows = self._connections.db.execute(
            "SELECT id, data, original_name FROM tools ORDER BY id")
        return [_entry(row) for row in rows]

    def routing_rows(self) -> RoutingRows:
        """Ids, names and groups of every stored tool, in id order, and the fingerprint of
        that state (``version.revision``), read in one transaction."""
        with self._connections.reading() as db:
            fingerprint = _fingerprint(db)
            rows = db.execute("SELECT id, name, coalesce(json_extract(data, '$.group'), '') "
                              "FROM tools ORDER BY id").fetchall()
        return RoutingRows(fingerprint, [row[0] for row in rows], [row[1] for row in rows],
                           [row[2] for row in rows])

    def records(self, ids: Sequence[int]) -> list[str | None]:
        """The JSON records of the tools with these ids, in that order (None: not stored)."""
        rows = self._connections.db.execute(
            "SELECT id, data FROM tools WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps([int(i) for i in ids]),))
        found = dict(rows.fetchall())
        return [found.get(int(i)) for i in ids]

    def summaries(self) -> list[tuple[str, str, str]]:
        """(name, source, description) of every stored tool, in id order."""
        rows = self._connections.db.execute(
            "SELECT name, source, json_extract(data, '$.description') FROM tools ORDER BY id")
        return [(name, source, description or "") for name, source, description in rows]

    def get(self, name: str) -> CatalogEntry | None:
        """The entry with that exact name, if any."""
        row = self._connections.db.execute(
            "SELECT id, data, original_name FROM tools WHERE name = ?", (name,)).fetchone()
        return _entry(row) if row else None

    def count(self) -> int:
        """Number of stored tools."""
        return self._connections.db.execute("SELECT COUNT(*) FROM tools").fetchone()[0]

    def sources(self) -> dict[str, int]:
        """Tool count per source."""
        rows = self._connections.db.execute(
            "SELECT source, COUNT(*) FROM tools GROUP BY source ORDER BY 1")
        return dict(rows.fetchall())

    def replace_source(self, source: str, tools: Iterable[Tool], *,
                       servers: Mapping[str, Mapping[str, Any]] | None = None,
                       digest: str | None = None) -> SourceChange:
        """Make the catalog hold exactly *tools* and *servers* for *source*, in one transaction.

        Each tool's ``source`` becomes *source*. A tool whose name another source already uses
        is stored as ``source__name``. Servers of *source* not in *servers* are deleted.
        *digest* (of the text the tools were parsed from) is kept for `source_digest`.

        Raises:
            CatalogError: a name cannot be made unique, or a server name is already defined by
                another source.
        """
        tools = [tool if tool.source == source else tool.renamed(source=source) for tool in tools]
        with self._connections.transaction() as db:
            self._replace_servers(db, source, servers or {})
            change = self._replace_tools(db, source, tools)
            if change.added or change.updated or change.removed:
                _bump_version(db)
            db.execute("DELETE FROM source_digests WHERE source = ?", (source,))
            if digest is not None:
                db.execute("INSERT INTO source_digests VALUES (?, ?, ?, ?)",
                           (source, digest, *_source_state(db, source)))
        return change

    def source_digest(self, source: str) -> str | None:
        """The digest *source* was last replaced with, if its tools are still exactly those
        (any later change to them, by any writer, voids it)."""
        db = self._connections.db
        row = db.execute("SELECT digest, tools, last_update FROM source_digests "
                         "WHERE source = ?", (source,)).fetchone()
        if row is None or tuple(row[1:]) != _source_state(db, source):
            return None
        return row[0]

    def remove(self, names: Iterable[str]) -> int:
        """Delete tools by name; returns how many existed."""
        with self._connections.transaction() as db:
            count = sum(db.execute("DELETE FROM tools WHERE name = ?", (name,)).rowcount
                        for name in names)
            if count:
                _bump_version(db)
        return count

    def server_config(self, name: str) -> dict[str, Any] | None:
        """The stored configuration of downstream server *name*, if any."""
        row = self._connections.db.execute("SELECT config FROM servers WHERE name = ?",
                                           (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def server_names(self) -> dict[str, str]:
        """Downstream server name -> the source that defines it."""
        rows = self._connections.db.execute("SELECT name, source FROM servers ORDER BY name")
        return dict(rows.fetchall())

    def feedback(self) -> dict[str, tuple[float, int]]:
        """Tool name -> (success rate as an exponentially weighted average, outcome count)."""
        rows = self._connections.db.execute("SELECT name, success_rate, outcomes FROM feedback")
        return {name: (rate, outcomes) for name, rate, outcomes in rows}

    def record_outcome(self, name: str, success: bool, alpha: float) -> tuple[float, int]:
        """Fold one call outcome into the tool's weighted success rate; returns the new state."""
        if not 0.0 < alpha <= 1.0:
            raise CatalogError(f"feedback alpha must be in (0, 1], got {alpha}")
        with self._connections.transaction() as db:
            row = db.execute("SELECT success_rate, outcomes FROM feedback WHERE name = ?",
                             (name,)).fetchone()
            rate, outcomes = row if row else (1.0, 0)
            rate = (1 - alpha) * rate + alpha * (1.0 if success else 0.0)
            db.execute("INSERT OR REPLACE INTO feedback VALUES (?, ?, ?)",
                       (name, rate, outcomes + 1))
            _set_meta(db, "feedback_version",
                      str(int(_meta(db, "feedback_version") or 0) + 1))
        return rate, outcomes + 1

    @staticmethod
    def _replace_servers(db: Any, source: str, servers: Mapping[str, Mapping[str, Any]]) -> None:
        for name in servers:
            row = db.execute("SELECT source FROM servers WHERE name = ?", (name,)).fetchone()
            if row and row[0] != source:
                raise CatalogError(f"MCP server {name!r} is already defined by source "
                                   f"{row[0]!r}; rename it in one of the two configurations")
        db.execute("DELETE FROM servers WHERE source = ?", (source,))
        db.executemany("INSERT INTO servers VALUES (?, ?, ?)",
                       [(name, source, json.dumps(dict(config), sort_keys=True))
                        for name, config in servers.items()])

    @staticmethod
    def _replace_tools(db: Any, source: str, tools: list[Tool]) -> SourceChange:
        added, updated, removed = [], [], []
        renamed: dict[str, str] = {}
        unchanged = 0
        existing = {row[0]: (row[1], row[2]) for row in db.execute(
            "SELECT original_name, name, content_hash FROM tools WHERE source = ?", (source,))}
        for tool in tools:
            if tool.name in existing:
                stored_name, stored_hash = existing.pop(tool.name)
                final = tool if stored_name == tool.name else tool.renamed(name=stored_name)
                if final.content_hash == stored_hash:
                    unchanged += 1
                    continue
                db.execute("UPDATE tools SET data = ?, content_hash = ?, "
                           "updated_at = julianday('now') WHERE name = ?",
                           (_dump(final), final.content_hash, stored_name))
                updated.append(stored_name)
                continue
            final = tool
            if _name_taken(db, tool.name):
                final = tool.renamed(name=f"{source}{NAMESPACE_SEPARATOR}{tool.name}")
                if _name_taken(db, final.name):
                    raise CatalogError(f"cannot add {tool.name!r} from {source!r}: both "
                                       f"{tool.name!r} and {final.name!r} are taken")
                renamed[tool.name] = final.name
            db.execute("INSERT INTO tools (name, original_name, source, data, content_hash, "
                       "updated_at) VALUES (?, ?, ?, ?, ?, julianday('now'))",
                       (final.name, tool.name, source, _dump(final), final.content_hash))
            added.append(final.name)
        for stored_name, _ in existing.values():
            db.execute("DELETE FROM tools WHERE name = ?", (stored_name,))
            removed.append(stored_name)
        return SourceChange(source, added, updated, unchanged, removed, renamed)

    def __enter__(self) -> SQLiteCatalogStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _migrate_bindings_to_servers(db: Any) -> None:
    """Schema 1 -> 2: move each MCP server's configuration out of its tools' bindings."""
    rows = db.execute("SELECT id, source, data FROM tools").fetchall()
    for tool_id, source, data in rows:
        record = json.loads(data)
        binding = record.get("binding") or {}
        if binding.get("kind") != "mcp" or "config" not in binding:
            continue
        config = binding.pop("config")
        db.execute("INSERT OR REPLACE INTO servers VALUES (?, ?, ?)",
                   (binding["server"], source, json.dumps(config, sort_keys=True)))
        tool = Tool.from_dict(record, trusted=True)
        db.execute("UPDATE tools SET data = ?, content_hash = ? WHERE id = ?",
                   (_dump(tool), tool.content_hash, tool_id))
    _bump_version(db)


def _source_state(db: Any, source: str) -> tuple[int, float | None]:
    """How many tools *source* has and when the last of them was written: what any change to
    them (an update, a removal, a re-insert) moves."""
    return tuple(db.execute("SELECT COUNT(*), MAX(updated_at) FROM tools WHERE source = ?",
                            (source,)).fetchone())


def _name_taken(db: Any, name: str) -> bool:
    return db.execute("SELECT 1 FROM tools WHERE name = ?", (name,)).fetchone() is not None


def _bump_version(db: Any) -> None:
    _set_meta(db, "version", str(int(_meta(db, "version") or 0) + 1))
    _set_meta(db, "revision", _new_revision())


def _fingerprint(db: Any) -> str:
    return f"{_meta(db, 'version') or 0}.{_meta(db, 'revision') or ''}"


def _new_revision() -> str:
    """A random name for one state of the tools: two stores never share one, even when one
    is a copy of the other that changed since."""
    return secrets.token_hex(8)


def _meta(db: Any, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def _set_meta(db: Any, key: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def _entry(row: tuple[int, str, str]) -> CatalogEntry:
    # Stored records were validated on the way in; re-checking schemas would cost ~1 ms each.
    return CatalogEntry(row[0], stored_tool(row[1]), row[2])


def _dump(tool: Tool) -> str:
    return json.dumps(tool.to_dict(), ensure_ascii=False, sort_keys=True)
