"""Tools that ask their client for input, through `toolnav serve` over HTTP: the SDK client
answers input-required results (MRTR) with its elicitation, sampling and roots callbacks; a
tool task parks in ``input_required``, tasks/get shows its input requests, tasks/update answers
them (one at a time too) and the task completes; a task waiting for input survives SIGKILL of
the server and completes after the restart."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest

from tests.server.conftest import (
    free_port,
    mcp_http_client,
    serve_process,
    subprocess_env,
    toolnav_command,
    wait_for_health,
)
from tests.server.tasks_support import FIXTURES
from tests.sources.services import REPO_ROOT
from toolnav.runtime import Toolnav

pytestmark = [pytest.mark.timeout(180), pytest.mark.anyio]

TASKS = "io.modelcontextprotocol/tasks"


@pytest.fixture(scope="module")
def task_home(tmp_path_factory, real_embedder):
    """A home serving the tools that ask for input, indexed with the served model."""
    home = tmp_path_factory.mktemp("input-home") / "home"
    with Toolnav.open(home, embedder=real_embedder) as toolnav:
        toolnav.catalog.add_source(FIXTURES.parent / "input_tools.py")
        toolnav.index()
    return home


async def rpc(url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """One stateless 2026-07-28 request declaring the Tasks extension, elicitation, sampling
    and roots; the JSON-RPC response (result or error)."""
    name = params.get("name") or params.get("taskId")
    headers = {"Content-Type": "application/json",
               "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method}
    if name:
        headers["Mcp-Name"] = name
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {
                "elicitation": {}, "sampling": {}, "roots": {}, "extensions": {TASKS: {}}}}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": meta}}
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{url}/mcp", json=body, headers=headers)
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        events = [json.loads(line[5:]) for line in response.text.splitlines()
                  if line.startswith("data:") and line[5:].strip()]
        return next(event for event in events if event.get("id") == 1)
    return response.json()


async def task_until(url: str, task_id: str, statuses: set[str], timeout: float = 20
                     ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        got = (await rpc(url, "tasks/get", {"taskId": task_id}))["result"]
        if got["status"] in statuses:
            return got
        assert time.monotonic() < deadline, f"task still {got['status']} after {timeout} s"
        await anyio.sleep(0.1)


async def test_sdk_client_answers_input_required_results(task_home):
    asked: list[str] = []

    async def elicit(context, params):
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"name": "Alice",
                                                                 "color": "blue"})

    async def sample(context, params):
        return types.CreateMessageResult(role="assistant", model="m", content=types.TextContent(
            type="text", text="Paris"))

    async def roots(context):
        return types.ListRootsResult(roots=[types.Root(uri="file:///work", name="work")])

    with serve_process(task_home, "--expose", "all") as url:
        async with mcp_http_client(url, elicitation_callback=elicit, sampling_callback=sample,
                                   list_roots_callback=roots) as client:
            greeted = await client.call_tool("test_input_required_result_elicitation", {})
            several = await client.call_tool("test_input_required_result_multiple_inputs", {})
            rounds = await client.call_tool("test_input_required_result_multi_round", {})
            via_meta = await client.call_tool("call_tool", {
                "name": "test_input_required_result_sampling", "arguments": {}})
        async with mcp_http_client(url, mode="legacy") as legacy:
            old = await legacy.call_tool("test_input_required_result_elicitation", {})
        tampered = await rpc(url, "tools/call", {
            "name": "test_input_required_result_tampered_state", "arguments": {},
            "inputResponses": {"ok": {"action": "accept", "content": {"ok": True}}},
            "requestState": "v1.forged"})

    assert greeted.content[0].text == "Hello, Alice!" and not greeted.is_error
    assert asked[0] == "What is your name?"
    assert several.content[0].text == "Paris Alice, with 1 root(s)."
    assert rounds.content[0].text == "Alice likes blue." and not rounds.is_error
    assert "Step 2: What is your favorite color?" in asked
    assert via_meta.content[0].text == "The model said: Paris"
    assert old.is_error and "2026-07-28" in old.content[0].text  # no MRTR on 2025 sessions
    assert tampered["error"]["code"] == -32602  # a forged requestState never reaches the tool


async def test_task_input_required_round_trip_and_partial_answers(task_home, tmp_path):
    with serve_process(task_home, "--expose", "all", "--tasks-db",
                       f"sqlite:///{tmp_path / 'tasks.sqlite'}") as url:
        created = (await rpc(url, "tools/call", {"name": "confirm_delete",
                                                 "arguments": {"filename": "a.txt"}}))["result"]
        assert created["resultType"] == "task"
        parked = await task_until(url, created["taskId"], {"input_required"})
        request = parked["inputRequests"]["confirm"]
        assert request["method"] == "elicitation/create"
        assert request["params"]["message"] == "Delete a.txt?"
        ack = (await rpc(url, "tasks/update", {"taskId": created["taskId"], "inputResponses": {
            "confirm": {"action": "accept", "content": {"confirm": True}}}}))["result"]
        done = await task_until(url, created["taskId"], {"completed", "failed"})

        multi = (await rpc(url, "tools/call", {"name": "multi_input",
                                               "arguments": {}}))["result"]
        both = await task_until(url, multi["taskId"], {"input_required"})
        await rpc(url, "tasks/update", {"taskId": multi["taskId"], "inputResponses": {
            "first": {"action": "accept", "content": {"name": "Ann"}},
            "unknown": {"action": "accept", "content": {}}}})
        half = (await rpc(url, "tasks/get", {"taskId": multi["taskId"]}))["result"]
        await rpc(url, "tasks/update", {"taskId": multi["taskId"], "inputResponses": {
            "second": {"action": "accept", "content": {"name": "Bob"}}}})
        multi_done = await task_until(url, multi["taskId"], {"completed", "failed"})

        async with mcp_http_client(url) as client:  # the plain task tool shows it too
            other = (await rpc(url, "tools/call", {"name": "confirm_delete",
                                                   "arguments": {"filename": "b.txt"}}))
            await task_until(url, other["result"]["taskId"], {"input_required"})
            seen = (await client.call_tool("get_task", {"id": other["result"]["taskId"]}))
            await rpc(url, "tasks/cancel", {"taskId": other["result"]["taskId"]})

    assert ack == {"resultType": "complete"} or set(ack) <= {"resultType", "_meta"}
    assert done["status"] == "completed", done
    assert done["result"]["content"][0]["text"] == "Deleted a.txt."
    assert set(both["inputRequests"]) == {"first", "second"}
    assert half["status"] == "input_required" and set(half["inputRequests"]) == {"second"}
    assert multi_done["result"]["content"][0]["text"] == "Got Ann and Bob."
    assert seen.structured_content["status"] == "input_required"
    assert set(seen.structured_content["input_requests"]) == {"confirm"}


def serve_killable(home: Path, port: int, database: str, log: Path, *extra: str
                   ) -> subprocess.Popen:
    """`toolnav serve --http` on *port* with tasks in *database* (and *extra* options), as a
    process the test may kill; returns once it is healthy."""
    process = subprocess.Popen(
        toolnav_command(home, "serve", "--http", f"127.0.0.1:{port}", "--expose", "all",
                        "--tasks-db", database, *extra),
        stdout=log.open("a"), stderr=subprocess.STDOUT, env=subprocess_env(), cwd=REPO_ROOT)
    wait_for_health(f"http://127.0.0.1:{port}", process, 120, log)
    return process


async def test_task_waiting_for_input_survives_sigkill(task_home, tmp_path):
    database, log = f"sqlite:///{tmp_path / 'tasks.sqlite'}", tmp_path / "serve.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = serve_killable(task_home, port, database, log)
    try:
        created = (await rpc(url, "tools/call", {"name": "confirm_delete",
                                                 "arguments": {"filename": "c.txt"}}))["result"]
        await task_until(url, created["taskId"], {"input_required"})
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        server = serve_killable(task_home, port, database, log)
        after = await task_until(url, created["taskId"], {"input_required"})
        await rpc(url, "tasks/update", {"taskId": created["taskId"], "inputResponses": {
            "confirm": {"action": "decline"}}})
        done = await task_until(url, created["taskId"], {"completed", "failed"})
    finally:
        server.kill()
        server.wait(10)
    assert set(after["inputRequests"]) == {"confirm"}
    assert done["status"] == "completed", done
    assert done["result"]["content"][0]["text"] == "Kept c.txt."


async def test_input_first_tool_gathers_by_mrtr_then_becomes_a_task(task_home, tmp_path):
    answer = {"user_name": {"action": "accept", "content": {"name": "Alice"}}}
    with serve_process(task_home, "--expose", "all", "--tasks-db",
                       f"sqlite:///{tmp_path / 'tasks.sqlite'}") as url:
        first = (await rpc(url, "tools/call", {"name": "test_tool_with_task",
                                               "arguments": {}}))["result"]
        second = (await rpc(url, "tools/call", {"name": "test_tool_with_task", "arguments": {},
                                                "inputResponses": answer}))["result"]
        done = await task_until(url, second["taskId"], {"completed", "failed"})
        via_meta = (await rpc(url, "tools/call", {
            "name": "call_tool", "arguments": {"name": "test_tool_with_task", "arguments": {}},
            "inputResponses": answer}))["result"]
        async with mcp_http_client(url) as client:  # no Tasks extension: a required task
            with pytest.raises(Exception) as refused:
                await client.call_tool("test_tool_with_task", {})

    assert first["resultType"] == "input_required" and "taskId" not in first
    assert set(first["inputRequests"]) == {"user_name"}
    assert second["resultType"] == "task" and second["status"] in {"working", "completed"}
    assert "requestState" not in second and "inputRequests" not in second
    assert done["status"] == "completed", done
    assert done["result"]["content"][0]["text"] == "Hello from the task, Alice!"
    assert via_meta["resultType"] == "task"
    assert getattr(refused.value, "code", None) == -32021
