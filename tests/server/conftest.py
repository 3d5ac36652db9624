"""Fixtures for the gateway tests: a small catalog (Python tools + the example MCP server),
in-process HTTP serving, token files, and `toolnav serve` subprocesses."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn

from tests.sources.services import EXAMPLES, MCP_CONFIG, REPO_ROOT
from toolnav.catalog import Catalog
from toolnav.runtime import Toolnav
from toolnav.server import Gateway, HTTPOptions, StaticTokenVerifier, build_http_app
from toolnav.server.auth import load_tokens
from toolnav.server.runtime_backend import RuntimeBackend

ALICE = "alice-calc-only-0123456789abcdef"     # namespace calc only
PYTHON = "py-python-tools-only-0123456789ab"   # namespace python_tools only
ROOT = "root-everything-0123456789abcdef"      # every namespace
TOKENS = {"tokens": [{"name": "alice", "token": ALICE, "namespaces": ["calc"]},
                     {"name": "py", "token": PYTHON, "namespaces": ["python_tools"]},
                     {"name": "root", "token": ROOT, "namespaces": ["*"]}]}
SRC = REPO_ROOT / "src"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fill_catalog(catalog: Catalog, folder: Path) -> None:
    """Python tools (namespace python_tools) and the calc MCP server (namespace calc)."""
    servers = folder / "servers.json"
    servers.write_text(json.dumps(MCP_CONFIG))
    catalog.add_source(EXAMPLES / "python_tools.py")
    catalog.add_source(servers)


@pytest.fixture
def toolnav(tmp_path, hashing_embedder) -> Iterator[Toolnav]:
    with Toolnav.open(tmp_path / "home", embedder=hashing_embedder) as opened:
        fill_catalog(opened.catalog, tmp_path)
        yield opened


@pytest.fixture
async def backend(toolnav) -> AsyncIterator[RuntimeBackend]:
    async with RuntimeBackend(toolnav) as opened:
        yield opened


@pytest.fixture
def token_file(tmp_path) -> Path:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(TOKENS))
    return path


@contextlib.asynccontextmanager
async def running_http(gateway: Gateway, *, tokens: Path | None = None,
                       **options: object) -> AsyncIterator[str]:
    """Serve *gateway* over HTTP in this event loop; yields the base URL."""
    settings = HTTPOptions(port=free_port(), **options)
    verifier = (StaticTokenVerifier(load_tokens(tokens), resource=settings.endpoint)
                if tokens else None)
    app = build_http_app(gateway, settings, verifier)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port,
                                           log_config=None, access_log=False))
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve)
        with anyio.fail_after(20):
            while not server.started:
                await anyio.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{settings.port}"
        finally:
            server.should_exit = True


def mcp_http_client(url: str, token: str | None = None, mode: str = "auto", **options: Any):
    """An SDK `Client` for the gateway's /mcp endpoint, with a bearer token if given;
    *options* go to `Client` (callbacks, for instance)."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = streamable_http_client(f"{url}/mcp",
                                       http_client=httpx2.AsyncClient(headers=headers,
                                                                      timeout=30))
    return Client(transport, mode=mode, **options)


def toolnav_command(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "toolnav", "--home", str(home), *args]


def subprocess_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SRC)}


@pytest.fixture(scope="session")
def served_home(tmp_path_factory, real_embedder) -> Path:
    """A home whose catalog is indexed with the real model (embeddings cached), so a
    `toolnav serve` subprocess starts without embedding anything."""
    folder = tmp_path_factory.mktemp("served")
    with Toolnav.open(folder / "home", embedder=real_embedder) as toolnav:
        fill_catalog(toolnav.catalog, folder)
        toolnav.index()
    return folder / "home"


def wait_for_health(url: str, process: subprocess.Popen, timeout: float = 120,
                    log: Path | None = None) -> None:
    """Wait until the server at *url* answers /healthz (fails if *process* exits first)."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            output = log.read_text() if log else ""
            raise RuntimeError(f"toolnav serve exited with code {process.returncode}: "
                               f"{output[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"toolnav serve did not answer within {timeout} s")
        time.sleep(0.2)


@contextlib.contextmanager
def serve_process(home: Path, *args: str, timeout: float = 120) -> Iterator[str]:
    """Run `toolnav serve --http` on a free port; yields the base URL once /healthz answers.
    One search process unless *args* say otherwise (the default two load the model twice on a
    2-core runner; tests that start the server themselves keep the default)."""
    if "--search-processes" not in args:
        args = (*args, "--search-processes", "1")
    port = free_port()
    log = (home.parent / f"serve-{port}.log").open("w")
    process = subprocess.Popen(toolnav_command(home, "serve", "--http", f"127.0.0.1:{port}",
                                               *args),
                               stdout=log, stderr=subprocess.STDOUT, env=subprocess_env(),
                               cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process, timeout, Path(log.name))
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def node_tools() -> Path:
    """The node 22 + Inspector + conformance folder (installed on first use)."""
    script = REPO_ROOT / "tests" / "tools" / "install_node_tools.sh"
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"installing the node test tools failed:\n{done.stderr}"
    return Path(done.stdout.strip().splitlines()[-1])


def inspector_command(node_tools: Path, *args: str) -> list[str]:
    launcher = (node_tools / "node_modules" / "@modelcontextprotocol" / "inspector" / "clients"
                / "launcher" / "build" / "index.js")
    # A stdio server starts within the Inspector's 30 s connect timeout when the machine is
    # idle, not always on a CI runner under a parallel suite's load.
    return [str(node_tools / "bin" / "node"), str(launcher), "--cli", "--connect-timeout",
            "120000", *args]
