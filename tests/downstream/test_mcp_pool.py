"""MCPPool and Executor against real misbehaving MCP servers (tests/faults): hangs, crashes,
garbage, list_changed, reconnection, and no leaked child processes."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import anyio
import pytest

from tests.faults import descendant_pids, http_server, stdio_config, tiny_config
from toolnav.downstream.mcp import MCPPool
from toolnav.errors import ToolExecutionError
from toolnav.execute import Executor
from toolnav.tool import Tool

pytestmark = pytest.mark.anyio


def mcp_tool(server: str, tool: str) -> Tool:
    return Tool(name=f"{server}__{tool}", binding={"kind": "mcp", "server": server,
                                                   "tool": tool})


async def wait_for_backoff(pool: MCPPool, server: str) -> None:
    await anyio.sleep(pool.states()[server]["retry_in"] + 0.05)


@pytest.mark.timeout(120)
async def test_a_hung_call_does_not_hold_up_fifty_healthy_ones(fault_configs):
    """The acceptance figure: while one call to a hung downstream waits out its timeout, 50
    concurrent calls to a healthy server all complete."""
    async with Executor(fault_configs.get, timeout_seconds=8) as executor:
        for server in ("hang", "healthy"):  # connect first: the figure is about calls
            warm = await executor.execute(mcp_tool(server, "add"), {"a": 1, "b": 1})
            assert not warm.is_error, warm.content
        finished: dict[str, float] = {}
        results = {}

        async def call(key: str, tool: Tool, arguments: dict) -> None:
            results[key] = await executor.execute(tool, arguments)
            finished[key] = time.monotonic()

        started = time.monotonic()
        async with anyio.create_task_group() as group:
            group.start_soon(call, "hung", mcp_tool("hang", "hang"), {})
            for index in range(50):
                group.start_soon(call, f"echo{index}", mcp_tool("healthy", "echo"),
                                 {"text": f"message {index}"})
    hung = results.pop("hung")
    assert hung.is_error
    assert hung.content == "MCP server 'hang': tool 'hang' timed out after 8 s and was cancelled"
    assert 7.5 < finished["hung"] - started < 12
    assert len(results) == 50
    assert all(result.data == {"result": f"message {key[4:]}"} for key, result in results.items())
    assert max(finished[key] for key in results) < finished["hung"] - 3


@pytest.mark.timeout(90)
async def test_calls_on_one_session_run_concurrently_and_timeouts_cancel(fault_configs,
                                                                          tmp_path):
    async with MCPPool(fault_configs.get) as pool:
        await pool.call_tool("healthy", "add", {"a": 0, "b": 0}, timeout=30)
        started = time.monotonic()
        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(lambda: pool.call_tool("healthy", "slow", {"seconds": 1.0},
                                                        timeout=30))
        assert time.monotonic() - started < 4  # one at a time would take 10 s
        marker = tmp_path / "finished"
        with pytest.raises(ToolExecutionError, match=r"timed out after 0\.3 s"):
            await pool.call_tool("healthy", "slow", {"seconds": 1.0, "marker": str(marker)},
                                 timeout=0.3)
        await anyio.sleep(1.5)
        assert not marker.exists()  # the server cancelled it: a timed-out call never runs on
        state = pool.states()["healthy"]
        assert state["state"] == "ready" and state["calls"] == 12 and state["failures"] == 1


@pytest.mark.timeout(120)
async def test_a_killed_downstream_reconnects_after_backoff_and_others_are_unaffected(
        fault_configs):
    before = descendant_pids()
    async with MCPPool(fault_configs.get) as pool:
        old_pid = (await pool.call_tool("die", "pid", {}, timeout=30)).structured_content
        old_pid = old_pid["result"]
        await pool.call_tool("healthy", "add", {"a": 0, "b": 0}, timeout=30)

        async def kill_soon() -> None:
            await anyio.sleep(0.5)
            os.kill(old_pid, signal.SIGKILL)

        async with anyio.create_task_group() as group:
            group.start_soon(kill_soon)
            started = time.monotonic()
            with pytest.raises(ToolExecutionError) as caught:
                await pool.call_tool("die", "slow", {"seconds": 20}, timeout=30)
            assert time.monotonic() - started < 10  # noticed at once, not at the timeout
        assert str(caught.value).startswith("MCP server 'die': command ")
        assert "exited (closed its stdout) during the call" in str(caught.value)
        with pytest.raises(ToolExecutionError, match="MCP server 'die' is down, retrying in"):
            await pool.call_tool("die", "add", {"a": 1, "b": 1}, timeout=30)
        assert pool.states()["die"]["state"] == "backoff"
        healthy = await pool.call_tool("healthy", "add", {"a": 2, "b": 2}, timeout=30)
        assert healthy.structured_content == {"result": 4}
        await wait_for_backoff(pool, "die")
        new_pid = (await pool.call_tool("die", "pid", {}, timeout=30)).structured_content
        assert new_pid["result"] != old_pid
        # os._exit in the middle of a call: the same story, told by the server itself.
        with pytest.raises(ToolExecutionError, match=r"'die': .* exited"):
            await pool.call_tool("die", "die", {}, timeout=30)
        await wait_for_backoff(pool, "die")
        assert (await pool.call_tool("die", "add", {"a": 1, "b": 2}, timeout=30)
                ).structured_content == {"result": 3}
        state = pool.states()["die"]
        assert state["state"] == "ready" and state["reconnects"] == 2
    assert descendant_pids() == before


@pytest.mark.timeout(90)
async def test_a_server_that_died_while_idle_is_reconnected_by_the_next_call():
    before = descendant_pids()
    async with MCPPool({"tiny": tiny_config()}.get) as pool:
        await pool.call_tool("tiny", "add", {"a": 1, "b": 1}, timeout=30)
        (pid,) = descendant_pids() - before
        os.kill(pid, signal.SIGKILL)
        await anyio.sleep(0.5)
        result = await pool.call_tool("tiny", "add", {"a": 2, "b": 3}, timeout=30)
        assert result.structured_content == {"result": 5}
        assert pool.states()["tiny"]["reconnects"] == 1


@pytest.mark.timeout(90)
async def test_garbage_on_stdout_is_named_and_others_are_unaffected(fault_configs):
    async with MCPPool(fault_configs.get) as pool:
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: pool.call_tool("healthy", "add", {"a": 1, "b": 2},
                                                    timeout=30))
            with pytest.raises(ToolExecutionError) as caught:
                await pool.call_tool("garbage", "add", {"a": 1, "b": 2}, timeout=5)
        message = str(caught.value)
        assert message.startswith("MCP server 'garbage': not connected within 5 s")
        assert "it wrote non-JSON-RPC output on stdout: 'garbage in reply to" in message
        assert pool.states()["healthy"]["state"] == "ready"


@pytest.mark.timeout(90)
@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_list_changed_calls_the_hook_with_the_server_name(transport):
    changed = []

    async def on_tools_changed(server: str) -> None:
        changed.append(server)

    server = http_server("changing") if transport == "http" else contextlib.nullcontext()
    with server as url:
        config = {"url": url} if transport == "http" else stdio_config("changing")
        async with MCPPool({"shifty": config}.get, on_tools_changed=on_tools_changed) as pool:
            before = {tool.name for tool in await pool.list_tools("shifty")}
            await pool.call_tool("shifty", "grow", {"name": "sprout"}, timeout=30)
            with anyio.fail_after(10):
                while not changed:
                    await anyio.sleep(0.05)
            after = {tool.name for tool in await pool.list_tools("shifty")}
    assert changed == ["shifty"]
    assert after - before == {"sprout"}


@pytest.mark.timeout(90)
async def test_an_http_downstream_that_goes_away_mid_session():
    configs = {}
    async with MCPPool(configs.get) as pool:
        with http_server("healthy") as url:
            configs["web"] = {"url": url}
            assert (await pool.call_tool("web", "add", {"a": 1, "b": 1}, timeout=30)
                    ).structured_content == {"result": 2}
        started = time.monotonic()
        with pytest.raises(ToolExecutionError) as caught:  # the server was killed
            await pool.call_tool("web", "add", {"a": 1, "b": 1}, timeout=20)
        assert time.monotonic() - started < 10
        # The SDK's HTTP transport only reports a closed connection; reconnecting tells why.
        assert str(caught.value).startswith(f"MCP server 'web': the connection to {url} was "
                                            "closed")
        await wait_for_backoff(pool, "web")
        with pytest.raises(ToolExecutionError) as caught:
            await pool.call_tool("web", "add", {"a": 1, "b": 1}, timeout=20)
        assert str(caught.value) == f"MCP server 'web': connection refused at {url}"


@pytest.mark.timeout(90)
async def test_secrets_reach_the_downstream_from_the_config():
    configs = {"local": stdio_config("healthy", env={"SERVICE_TOKEN": "t-123"})}
    with http_server("healthy") as url:
        configs["web"] = {"url": url, "headers": {"Authorization": "Bearer t-456"}}
        async with MCPPool(configs.get) as pool:
            env = await pool.call_tool("local", "env", {"name": "SERVICE_TOKEN"}, timeout=30)
            header = await pool.call_tool("web", "header", {"name": "authorization"},
                                          timeout=30)
    assert env.structured_content == {"result": "t-123"}
    assert header.structured_content == {"result": "Bearer t-456"}


@pytest.mark.timeout(90)
async def test_a_changed_config_means_a_new_session():
    configs = {"tiny": tiny_config()}
    before = descendant_pids()
    async with MCPPool(configs.get) as pool:
        await pool.call_tool("tiny", "add", {"a": 1, "b": 1}, timeout=30)
        first = descendant_pids() - before
        configs["tiny"] = {**tiny_config(), "env": {"TINY_VARIANT": "2"}}
        await pool.call_tool("tiny", "add", {"a": 1, "b": 1}, timeout=30)
        await anyio.sleep(0.5)  # the old session stops its server in the background
        second = descendant_pids() - before
        assert len(first) == len(second) == 1 and first != second
        configs.clear()
        with pytest.raises(ToolExecutionError, match="'tiny' is not configured"):
            await pool.call_tool("tiny", "add", {"a": 1, "b": 1}, timeout=30)


@pytest.mark.timeout(240)
async def test_two_hundred_cycles_leave_no_child_process():
    """Open, call, close; every tenth pool is cancelled while its call is in flight."""
    config = {"tiny": tiny_config()}.get
    before = descendant_pids()
    for cycle in range(200):
        async with MCPPool(config) as pool:
            if cycle % 10 == 9:
                with anyio.move_on_after(0.05):  # cancelled while connecting or calling
                    await pool.call_tool("tiny", "add", {"a": cycle, "b": 1}, timeout=30)
            else:
                result = await pool.call_tool("tiny", "add", {"a": cycle, "b": 1}, timeout=30)
                assert result.structured_content == {"result": cycle + 1}
    assert descendant_pids() == before


@pytest.mark.timeout(60)
async def test_cancelling_the_owner_mid_call_reaps_the_server(fault_configs):
    before = descendant_pids()
    with anyio.move_on_after(6):
        async with MCPPool(fault_configs.get) as pool:
            await pool.call_tool("hang", "hang", {}, timeout=60)
    assert descendant_pids() == before


async def test_a_pool_that_is_not_open_says_so():
    with pytest.raises(ToolExecutionError, match="not open"):
        await MCPPool({}.get).call_tool("x", "y", {}, timeout=1)
