"""Opening toolnav's SQLite files: WAL mode, a busy timeout, one connection per thread.

SQLite connections must not be shared between threads that write, so `ThreadConnections` hands
each thread its own connection to the same file; WAL lets readers run beside one writer and the
busy timeout makes concurrent writers (threads or processes) wait their turn instead of failing.

Example:
    connections = ThreadConnections(home / "catalog.db", SCHEMA, "toolnav catalog")
    with connections.transaction() as db: db.execute("INSERT ...")
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from toolnav.errors import CatalogError

__all__ = ["ThreadConnections"]

# Writers wait up to this long for the lock; a batch insert of 50k tools takes a few seconds.
BUSY_TIMEOUT_MS = 60_000


class ThreadConnections:
    """One autocommit connection per thread to one SQLite file, created on first use.

    Args:
        path: the database file (its folder is created).
        schema: statements run once on the first connection (``CREATE ... IF NOT EXISTS``).
        what: what the file is, for error messages.

    Raises:
        CatalogError: the file exists but is not a usable database.
    """

    def __init__(self, path: Path, schema: str, what: str):
        self.path = Path(path)
        self._what = what
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db.executescript(schema)
        except sqlite3.DatabaseError as error:
            self.close()
            raise CatalogError(f"{self.path}: not a usable {what} ({error}); move it away or "
                               "choose another --home") from None

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open()
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT on this thread's connection, ROLLBACK on any exception.

        IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading a
        read lock; the second waits (busy timeout) and then sees the first one's result.
        """
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read transaction (BEGIN ... COMMIT) on this thread's connection: every query in
        the block sees the same state of the file, whatever other writers commit meanwhile."""
        db = self.db
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            for connection in self._all:
                connection.close()
            self._all.clear()
        self._local = threading.local()

    def _open(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(self.path, isolation_level=None,
                                         check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
            # The timeout first: switching to WAL itself needs the lock another process may hold.
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as error:
            raise CatalogError(f"{self.path}: not a usable {self._what} ({error}); move it away "
                               "or choose another --home") from None
        with self._lock:
            self._all.append(connection)
        return connection
