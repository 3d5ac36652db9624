"""Faulty downstreams behind the gateway (tests/faults servers, real processes): a hung tool
times out alone, a downstream that dies is named and reconnected, one that writes garbage on
stdout fails only its own calls, the others keep answering, 100 crash/reconnect cycles leave
no zombie or orphan, and closing the gateway leaves no child process."""

from __future__ import annotations

import functools
import json
import os
import signal
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.faults import descendant_pids, stdio_config, tiny_config
from toolnav.downstream.mcp import MCPPool
from toolnav.runtime import Toolnav
from toolnav.server import Gateway
from toolnav.server.runtime_backend import RuntimeBackend

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]


def text(result) -> str:
    return "\n".join(block.text for block in result.content)


async def call(client, name: str, arguments: dict):
    return await client.call_tool("call_tool", {"name": name, "arguments": arguments})


async def call_beside_healthy_calls(client, name: str, arguments: dict
                                    ) -> tuple[object, int, list[str]]:
    """Call *name* while ten calls go to the healthy server; returns its result, how many
    healthy calls had been answered when it returned, and all their answers."""
    answers: list[str] = []

    async def healthy_calls() -> None:
        for value in range(10):
            result = await call(client, "healthy__add", {"a": value, "b": 1})
            assert not result.is_error, text(result)
            answers.append(text(result))

    async with anyio.create_task_group() as group:
        group.start_soon(healthy_calls)
        result = await call(client, name, arguments)
        answered_meanwhile = len(answers)
    return result, answered_meanwhile, answers


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
            hung, answered_meanwhile, _ = await call_beside_healthy_calls(client, "hang__hang", {})
            assert answered_meanwhile == 10  # all answered while the hung call waited
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


async def test_garbage_on_stdout_fails_only_that_servers_calls(tmp_path, hashing_embedder):
    """A server that answered when it was added now writes text lines on stdout (a broken
    upgrade, a stray print): its calls are isError results naming it, within the call timeout,
    while calls to the other server keep being answered."""
    servers = tmp_path / "servers.json"
    servers.write_text(json.dumps({"mcpServers": {"healthy": stdio_config("healthy"),
                                                  "broken": tiny_config()}}))
    before = descendant_pids()
    with Toolnav.open(tmp_path / "home", embedder=hashing_embedder) as toolnav:
        await anyio.to_thread.run_sync(toolnav.catalog.add_source, servers)
        store = toolnav.catalog.store
        source = store.server_names()["broken"]
        configs = {name: store.server_config(name) for name in store.server_names()}
        toolnav.catalog.add_tools([entry.tool for entry in toolnav.catalog.entries()],
                                  source=source,
                                  servers={**configs, "broken": stdio_config("garbage")})
        async with RuntimeBackend(toolnav, call_timeout_seconds=5) as backend, \
                Client(Gateway(backend).mcp_server()) as client:
            broken, _, answers = await call_beside_healthy_calls(client, "broken__add",
                                                                 {"a": 1, "b": 2})
            assert len(answers) == 10  # the healthy server answered every call meanwhile
            message = text(broken)
            assert broken.is_error and message.startswith("MCP server 'broken'")
            assert "non-JSON-RPC output on stdout: 'garbage in reply to" in message
            found = await client.call_tool("search_tools", {"query": "add two integers"})
            assert not found.is_error  # search does not touch downstreams
            assert not (await call(client, "healthy__add", {"a": 2, "b": 2})).is_error
            states = {state.name: state.state for state in backend.states()}
            assert states["healthy"] == "connected"
            assert states["broken"] in ("connecting", "failed")  # never served
    with anyio.fail_after(10):
        while descendant_pids() - before:
            await anyio.sleep(0.1)


def process_state(pid: int) -> str | None:
    """The /proc state letter of *pid* (``Z`` for a zombie), or None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()[0]


async def test_a_hundred_crash_reconnect_cycles_leave_no_zombie_or_orphan(
        tmp_path, hashing_embedder, monkeypatch):
    """kill -9 of the downstream and a call that reconnects it, 100 times over: every killed
    server is reaped (no zombie below us, none reparented to init), and closing the gateway
    stops the last one."""
    monkeypatch.setattr("toolnav.execute.MCPPool",  # a short backoff keeps the test fast
                        functools.partial(MCPPool, backoff_initial=0.02, backoff_max=0.05))
    servers = tmp_path / "servers.json"
    servers.write_text(json.dumps({"mcpServers": {"tiny": tiny_config()}}))
    before = descendant_pids()
    killed: list[int] = []
    with Toolnav.open(tmp_path / "home", embedder=hashing_embedder) as toolnav:
        await anyio.to_thread.run_sync(toolnav.catalog.add_source, servers)
        async with RuntimeBackend(toolnav, call_timeout_seconds=10) as backend, \
                Client(Gateway(backend).mcp_server()) as client:
            for cycle in range(100):
                with anyio.fail_after(10):  # (re)connected; a call racing the death names it
                    while (result := await call(client, "tiny__add",
                                                {"a": cycle, "b": 1})).is_error:
                        assert "MCP server 'tiny'" in text(result)
                        await anyio.sleep(0.01)
                assert result.structured_content == {"result": cycle + 1}
                (server,) = descendant_pids() - before  # one live server: the dead are reaped
                assert process_state(server) not in (None, "Z") and server not in killed
                os.kill(server, signal.SIGKILL)
                killed.append(server)
            with anyio.fail_after(10):  # the last killed server reaped too
                while descendant_pids() - before:
                    await anyio.sleep(0.05)
            assert {state.name: state.reconnects for state in backend.states()} == {"tiny": 99}
    assert [pid for pid in killed if process_state(pid) is not None] == []  # no orphan
    assert descendant_pids() - before == set()
