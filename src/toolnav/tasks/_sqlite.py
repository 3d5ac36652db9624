"""The SQLite engine for DBOS's system database, in WAL mode with ``synchronous=NORMAL``.

DBOS's own SQLite engine keeps SQLite's defaults (rollback journal, ``synchronous=FULL``):
every commit then waits for fsync, which on the measured disk costs ~27 ms, so at most ~35
submits/s and a few steps per second. In WAL mode with ``synchronous=NORMAL`` a commit
survives the process being killed (the durability tasks need); only an OS crash or power loss
can drop the last commits. The other settings match DBOS's engine (IMMEDIATE transactions, a
30 s busy timeout, foreign keys).

Example:
    engine = sqlite_engine("sqlite:////home/me/.toolnav/tasks.sqlite")
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

__all__ = ["sqlite_engine"]


def sqlite_engine(database_url: str) -> sa.Engine:
    """An engine on the SQLite file of *database_url*, set up for DBOS."""
    engine = sa.create_engine(database_url, pool_size=8, max_overflow=8)

    @event.listens_for(engine, "connect")
    def configure(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None  # autocommit, for the journal-mode pragma
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.isolation_level = "IMMEDIATE"  # serialise writers, as DBOS does

    return engine
