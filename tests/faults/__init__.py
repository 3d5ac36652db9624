"""Reusable downstream faults: real MCP servers that hang, die, print garbage or change tools.

`tests/faults/server.py` is the server (one script, one mode per fault; the garbage one and a
dependency-free one for mass tests are their own scripts); this package gives
their configs and process helpers, and `tests.faults.fixtures` the pytest fixtures (loaded for
every test by `tests/conftest.py`).

Example:
    config = stdio_config("hang")         # {"command": python, "args": [server.py, "hang"]}
    with http_server("healthy") as url: ...
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

SERVER_SCRIPT = Path(__file__).with_name("server.py")
TINY_SERVER_SCRIPT = Path(__file__).with_name("tiny_server.py")
GARBAGE_SERVER_SCRIPT = Path(__file__).with_name("garbage_server.py")
MODES = ("healthy", "hang", "die", "garbage", "changing")

__all__ = ["GARBAGE_SERVER_SCRIPT", "MODES", "SERVER_SCRIPT", "TINY_SERVER_SCRIPT",
           "descendant_pids", "free_port", "http_server", "stdio_config", "tiny_config"]


def stdio_config(mode: str, **extra: object) -> dict:
    """The ``mcpServers`` entry that runs the fault server *mode* over stdio."""
    if mode not in MODES:
        raise ValueError(f"unknown fault mode {mode!r}; one of {MODES}")
    if mode == "garbage":
        return {"command": sys.executable, "args": [str(GARBAGE_SERVER_SCRIPT)], **extra}
    return {"command": sys.executable, "args": [str(SERVER_SCRIPT), mode], **extra}


def tiny_config() -> dict:
    """The ``mcpServers`` entry of the dependency-free stdio server (``add`` only)."""
    return {"command": sys.executable, "args": [str(TINY_SERVER_SCRIPT)]}


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def http_server(mode: str, *, startup_seconds: float = 20.0) -> Iterator[str]:
    """Run the fault server *mode* over Streamable HTTP; yields its ``/mcp`` URL; kills it."""
    if mode not in MODES or mode == "garbage":  # garbage is a stdout fault: stdio only
        raise ValueError(f"no HTTP fault server {mode!r}")
    port = free_port()
    process = subprocess.Popen([sys.executable, str(SERVER_SCRIPT), mode, "--http", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            try:
                httpx.get(url, timeout=0.5)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"fault server {mode!r} did not listen on {url}") from None
                time.sleep(0.05)
        yield url
    finally:
        process.kill()
        process.wait(10)


def descendant_pids(root: int | None = None) -> set[int]:
    """Every process below *root* (default: this process), from /proc; zombies count too (a
    child that exited but was never reaped is a leak)."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        # The command name may hold spaces or parentheses: fields start after the last ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found
