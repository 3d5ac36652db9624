"""Faulty downstreams behind the gateway (tests/faults servers, real processes): a hung tool
times out alone, a downstream that dies is named and reconnected, the others keep answering,
and closing the gateway leaves no child process."""

from __future__ import annotations

import json

import anyio
import pytest
from mcp import Client

from tests.faults import descendant_pids, stdio_config
from toolnav.runtime import Toolnav
from toolnav.server import Gateway
from toolnav.server.runtime_backend import RuntimeBackend

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]


def text(result) -> str:
    return "\n".join(block.text for block in result.content)


async def call(client, name: str, arguments: dict):
    return await client.call_tool("call_tool", {"name": name, "arguments": arguments})


async def test_hung_and_dying_downstreams_affect_only_their_own_calls(tmp_path,
                                                                      hashing_embedder):
    servers = tmp_path / "servers.json"
    servers.write_text(json.dumps({"mcpServers": {
        mode: stdio_config(mode) for mode in ("healthy", "hang", "die")}}))
    before = descendant_pids()
    with Toolnav.open(tmp_path / "home", embedder=hashing_embedder) as toolnav:
        await anyio.to_thread.run_sync(toolnav.catalog.add_source, servers)
        async with RuntimeBackend(toolnav, call_timeout_seconds=6) as backend, \
                Client(Gateway(backend).mcp_server()) as client:
            assert not (await call(client, "healthy__add", {"a": 1, "b": 2})).is_error
            answers: list[str] = []

            async def healthy_calls() -> None:
                for value in range(10):
                    result = await call(client, "healthy__add", {"a": value, "b": 1})
                    assert not result.is_error, text(result)
                    answers.append(text(result))

            async with anyio.create_task_group() as group:
                group.start_soon(healthy_calls)
                hung = await call(client, "hang__hang", {})
                assert len(answers) == 10  # all answered while the hung call waited
            assert hung.is_error and "'hang'" in text(hung) and "timed out after 6 s" in text(hung)

            died = await call(client, "die__die", {})
            assert died.is_error and "MCP server 'die'" in text(died)
            assert not (await call(client, "healthy__add", {"a": 2, "b": 2})).is_error
            states = {state.name: state for state in backend.states()}
            assert states["die"].state == "failed" and states["healthy"].state == "connected"
            with anyio.fail_after(60):  # reconnected once its backoff has passed
                while (await call(client, "die__add", {"a": 3, "b": 4})).is_error:
                    await anyio.sleep(0.5)
            assert {state.name: state for state in backend.states()}["die"].reconnects >= 1
    with anyio.fail_after(10):  # the downstreams' processes are gone, zombies included
        while descendant_pids() - before:
            await anyio.sleep(0.1)
