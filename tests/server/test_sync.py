"""Catalog sync: a downstream adds, changes and removes tools at run time; search and
validation follow within 2 s, by the periodic refresh and by a list_changed notification."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client

from tests.server.conftest import free_port
from toolnav.runtime import Toolnav
from toolnav.server import CatalogSync, Gateway
from toolnav.server.runtime_backend import RuntimeBackend

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

REFLECTED_WITHIN_SECONDS = 2.0
ALPHA = {"name": "alpha", "description": "Translate a sentence into French.",
         "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}}
BETA = {"name": "beta", "description": "Weather forecast for the coming days.",
        "inputSchema": {"type": "object", "properties": {}}}
BETA_WITH_CITY = {**BETA, "inputSchema": {"type": "object", "required": ["city"],
                                          "properties": {"city": {"type": "string"}}}}


@pytest.fixture
def downstream(tmp_path):
    tools_file = tmp_path / "tools.json"
    tools_file.write_text(json.dumps([ALPHA]))
    port = free_port()
    process = subprocess.Popen([sys.executable, str(Path(__file__).with_name(
        "mutable_server.py")), str(tools_file), str(port)])
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=0.5)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the mutable server did not start"
            time.sleep(0.1)
    yield tools_file, url
    process.terminate()
    process.wait(10)


@pytest.fixture
def toolnav(tmp_path, hashing_embedder, downstream):
    _, url = downstream
    servers = tmp_path / "servers.json"
    servers.write_text(json.dumps({"mcpServers": {"mut": {"url": url}}}))
    with Toolnav.open(tmp_path / "home", embedder=hashing_embedder) as opened:
        opened.catalog.add_source(servers)
        yield opened


@pytest.fixture
async def gateway(toolnav):
    async with RuntimeBackend(toolnav) as backend:
        yield Gateway(backend)


async def within_deadline(check) -> float:
    """Seconds until *check()* (async) holds; fails past the 2 s bound."""
    started = time.perf_counter()
    while not await check():
        assert time.perf_counter() - started < REFLECTED_WITHIN_SECONDS, "not reflected in 2 s"
        await anyio.sleep(0.05)
    return time.perf_counter() - started


async def search(client, query: str) -> list[str]:
    result = await client.call_tool("search_tools", {"query": query, "k": 5})
    return [tool["name"] for tool in result.structured_content["tools"]]


async def exercise(client, tools_file: Path, after_edit) -> None:
    """Add beta, give it a required parameter, remove alpha; each is seen within 2 s."""
    assert await search(client, "weather forecast") == ["mut__alpha"]
    tools_file.write_text(json.dumps([ALPHA, BETA]))
    await after_edit()

    async def beta_found() -> bool:
        return (await search(client, "weather forecast"))[0] == "mut__beta"

    await within_deadline(beta_found)

    tools_file.write_text(json.dumps([ALPHA, BETA_WITH_CITY]))
    await after_edit()

    async def city_required() -> bool:
        result = await client.call_tool("call_tool", {"name": "mut__beta", "arguments": {}})
        return result.is_error and "city: required parameter is missing" in \
            result.content[0].text

    await within_deadline(city_required)
    schema = await client.call_tool("get_tool_schema", {"name": "mut__beta"})
    assert schema.structured_content["inputSchema"]["required"] == ["city"]  # never stale
    found = await search(client, "weather forecast")
    called = await client.call_tool("call_tool", {"name": "mut__beta",
                                                  "arguments": {"city": "Oslo"}})
    assert found[0] == "mut__beta" and not called.is_error

    tools_file.write_text(json.dumps([BETA_WITH_CITY]))
    await after_edit()

    async def alpha_gone() -> bool:
        return "mut__alpha" not in await search(client, "translate to french")

    await within_deadline(alpha_gone)
    gone = await client.call_tool("call_tool", {"name": "mut__alpha", "arguments": {}})
    assert gone.is_error and "no tool named 'mut__alpha'" in gone.content[0].text


async def test_periodic_refresh_follows_the_downstream(gateway, downstream):
    tools_file, _ = downstream
    sync = CatalogSync(gateway.backend, interval_seconds=0.3, metrics=gateway.metrics)

    async def nothing() -> None:
        return None

    async with anyio.create_task_group() as group, Client(gateway.mcp_server()) as client:
        group.start_soon(sync.run)
        await exercise(client, tools_file, nothing)
        group.cancel_scope.cancel()
    changed = gateway.metrics.syncs.labels(downstream="mut", result="changed")._value.get()
    assert changed == 3


async def test_list_changed_notification_triggers_a_refresh(gateway, downstream):
    tools_file, _ = downstream
    sync = CatalogSync(gateway.backend, interval_seconds=None)  # notifications only

    async def notify() -> None:
        sync.notify_changed("mut")  # what the downstream pool's list_changed hook calls

    async with anyio.create_task_group() as group, Client(gateway.mcp_server()) as client:
        group.start_soon(sync.run)
        await exercise(client, tools_file, notify)
        group.cancel_scope.cancel()


async def test_a_failed_listing_keeps_the_catalog(gateway, downstream):
    tools_file, _ = downstream
    sync = CatalogSync(gateway.backend, interval_seconds=None, metrics=gateway.metrics)
    tools_file.write_text("not json")  # the downstream now fails every tools/list
    assert await sync.refresh("mut") is None
    assert [tool.name for tool in await gateway.backend.list_tools()] == ["mut__alpha"]
    failed = gateway.metrics.syncs.labels(downstream="mut", result="failed")._value.get()
    assert failed == 1
