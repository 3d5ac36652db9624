"""A throwaway PostgreSQL 15 cluster on a free loopback port, for tests of the Postgres mode.

The cluster lives in a temporary folder with trust authentication on 127.0.0.1 only, runs as
the ``postgres`` user when the tests run as root (Postgres refuses root), and is stopped and
removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(*command: str) -> None:
    if os.geteuid() == 0:
        command = ("runuser", "-u", "postgres", "--", *command)
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a cluster; yields the URL of an empty database in it."""
    folder = Path(tempfile.mkdtemp(prefix="toolnav-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", _free_port()
    _run(str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    _run(str(BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"), "-o",
         f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start")
    try:
        _run(str(BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
             "toolnav_tasks")
        yield f"postgresql://postgres@127.0.0.1:{port}/toolnav_tasks"
    finally:
        _run(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)
