"""Agent tasks through `toolnav serve` as a real process: the SDK client over HTTP and stdio
submits, polls, cancels and lists tasks; bad input gets precise errors; two profiles run at
once; MCP Inspector's CLI (2026 protocol, Tasks extension declared) drives a task to its
result."""

from __future__ import annotations

import json
import subprocess
import time

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.server.conftest import (
    free_port,
    mcp_http_client,
    serve_process,
    subprocess_env,
    toolnav_command,
)
from tests.server.tasks_support import (
    agents_file,
    build_task_home,
    effects,
    policy,
    wait_for_task,
)
from tests.server.test_serve_cli import payload, run_inspector
from tests.sources.services import REPO_ROOT
from toolnav.testing import FakeLLM

pytestmark = [pytest.mark.timeout(240), pytest.mark.anyio]


@pytest.fixture(scope="module")
def task_home(tmp_path_factory, real_embedder):
    return build_task_home(tmp_path_factory.mktemp("task-home"), real_embedder)


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    folder = tmp_path / "ledger"
    folder.mkdir()
    monkeypatch.setenv("TOOLNAV_TEST_COUNT_DIR", str(folder))  # the served record_call's
    return folder


@pytest.fixture
def llm():
    with FakeLLM(respond=policy, delay_seconds=0.1) as fake:
        yield fake


@pytest.fixture
def server_args(tmp_path, llm):
    down = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    return ["--agents", str(agents_file(tmp_path, llm.base_url, down_url=down)),
            "--tasks-db", f"sqlite:///{tmp_path / 'tasks.sqlite'}"]


async def test_tasks_over_http(task_home, server_args, ledger):
    with serve_process(task_home, *server_args, "--max-body-bytes", str(32 * 2**20)) as url:
        async with mcp_http_client(url) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            submitted = await client.call_tool("submit_task", {
                "task": "buy milk", "agent": "agent-2", "metadata": {"ticket": 7}})
            task_id = submitted.structured_content["id"]
            done = await wait_for_task(client, task_id)
            listed = await client.call_tool("list_tasks", {"agent": "agent-2"})

            # Bad input: each a precise isError, nothing stored.
            unknown_id = await client.call_tool("get_task", {"id": "f" * 32})
            unknown_agent = await client.call_tool("submit_task", {"task": "x",
                                                                   "agent": "agent-9"})
            empty = await client.call_tool("submit_task", {"task": "   "})
            huge = await client.call_tool("submit_task", {"task": "y" * 10_000_000})
            finished = await client.call_tool("cancel_task", {"id": task_id})
            down = await client.call_tool("submit_task", {"task": "anything",
                                                          "agent": "agent-down"})
            down_info = await wait_for_task(client, down.structured_content["id"])
            count = len((await client.call_tool("list_tasks", {})).structured_content["tasks"])

    assert {"submit_task", "get_task", "cancel_task", "list_tasks"} <= tools
    assert submitted.structured_content["status"] == "queued" and len(task_id) == 32
    assert done["status"] == "completed" and done["agent"] == "agent-2"
    assert "recorded buy milk" in done["result"]["answer"]
    assert done["metadata"]["ticket"] == 7
    assert [step["kind"] for step in done["steps"]].count("execution") == 1
    assert effects(ledger, task_id) == 1
    assert [task["id"] for task in listed.structured_content["tasks"]] == [task_id]
    assert unknown_id.is_error and "no task with id 'fff" in unknown_id.content[0].text
    assert unknown_agent.is_error and "unknown agent 'agent-9'; agents: agent-1, agent-2" \
        in unknown_agent.content[0].text
    assert empty.is_error and "the task text is empty" in empty.content[0].text
    assert huge.is_error and "10,000,000 characters; the limit is 100,000" \
        in huge.content[0].text
    assert finished.is_error and f"task {task_id} already finished (completed)" \
        in finished.content[0].text
    assert down_info["status"] == "failed"
    assert "LLMError" in down_info["error"] and "unreachable after 2 attempts" \
        in down_info["error"]
    assert count == 2  # the two accepted tasks; the refused ones left nothing behind


async def test_two_profiles_run_concurrently_and_cancel_stops_within_one_step(
        task_home, server_args, ledger):
    with serve_process(task_home, *server_args) as url:
        async with mcp_http_client(url) as client:
            ids = [(await client.call_tool("submit_task", {"task": f"loop {n}",
                                                           "agent": f"agent-{n}"}
                                           )).structured_content["id"] for n in (1, 2)]
            deadline = time.monotonic() + 30
            while not all(effects(ledger, task_id) >= 2 for task_id in ids):
                assert time.monotonic() < deadline, "the two agents did not both progress"
                await anyio.sleep(0.05)
            both = [(await client.call_tool("get_task", {"id": task_id})).structured_content
                    for task_id in ids]
            cancelled = [await client.call_tool("cancel_task", {"id": task_id})
                         for task_id in ids]
            at_cancel = [effects(ledger, task_id) for task_id in ids]
            final = [await wait_for_task(client, task_id) for task_id in ids]
            await anyio.sleep(1.0)  # several LLM turns' worth: nothing more may happen
    assert [info["status"] for info in both] == ["working", "working"]
    assert [result.structured_content["status"] for result in cancelled] == \
        ["cancelled", "cancelled"]
    assert [info["status"] for info in final] == ["cancelled", "cancelled"]
    for task_id, before in zip(ids, at_cancel, strict=True):
        assert effects(ledger, task_id) <= before + 1  # at most the step in flight


async def test_tasks_over_stdio(task_home, server_args, ledger):
    command = toolnav_command(task_home, "serve", *server_args)
    parameters = StdioServerParameters(command=command[0], args=command[1:],
                                       env=subprocess_env(), cwd=str(REPO_ROOT))
    async with Client(parameters, read_timeout_seconds=120) as client:
        task_id = (await client.call_tool("submit_task", {"task": "walk the dog"})
                   ).structured_content["id"]
        done = await wait_for_task(client, task_id)
        unknown = await client.call_tool("cancel_task", {"id": "nope"})
    assert done["status"] == "completed" and done["agent"] == "agent-1"
    assert "recorded walk the dog" in done["result"]["answer"]
    assert unknown.is_error and "no task with id 'nope'" in unknown.content[0].text


def test_inspector_drives_a_task_to_its_result(node_tools, task_home, server_args, ledger,
                                               tmp_path):
    with serve_process(task_home, *server_args, "--expose", "all") as url:
        common = (f"{url}/mcp", "--protocol-era", "modern", "--method", "tools/call")
        agent = run_inspector(node_tools, tmp_path, *common, "--tool-name", "submit_task",
                              "--tool-arg", "task=feed the cat")
        tool = run_inspector(node_tools, tmp_path, *common, "--tool-name", "slow_compute",
                             "--tool-args-json", json.dumps({"seconds": 0.5, "label": "x"}))
        legacy = run_inspector(node_tools, tmp_path, f"{url}/mcp", "--protocol-era", "legacy",
                               "--method", "tools/call", "--tool-name", "slow_compute",
                               "--tool-args-json", json.dumps({"seconds": 0}))
    assert agent.returncode == 0, agent.stderr + agent.stdout
    assert "recorded feed the cat" in payload(agent)["content"][0]["text"]
    assert tool.returncode == 0, tool.stderr + tool.stdout
    assert payload(tool)["content"][0]["text"] == "computed x after 0.5 s"
    assert legacy.returncode == 0, legacy.stderr  # no extension: runs synchronously
    assert payload(legacy)["content"][0]["text"] == "computed result after 0 s"


def test_task_cli_against_a_server(task_home, server_args, ledger, tmp_path):
    def task_cli(*args: str, check_exit: int = 0) -> subprocess.CompletedProcess:
        done = subprocess.run(toolnav_command(tmp_path / "client-home", "task", *args,
                                              "--server", url),
                              capture_output=True, text=True, timeout=60,
                              env=subprocess_env(), cwd=REPO_ROOT)
        assert done.returncode == check_exit, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        return done

    with serve_process(task_home, *server_args) as url:
        task_id = task_cli("submit", "water the plants", "--agent", "agent-2",
                           "--metadata", '{"ticket": 3}').stdout.strip()
        deadline = time.monotonic() + 60
        while (shown := json.loads(task_cli("get", task_id).stdout))["status"] not in (
                "completed", "failed"):
            assert time.monotonic() < deadline, shown
            time.sleep(0.2)
        listed = task_cli("list", "--agent", "agent-2").stdout
        refused = task_cli("cancel", task_id, check_exit=1)
        unknown = task_cli("get", "0" * 32, check_exit=1)
    assert shown["status"] == "completed" and shown["metadata"]["ticket"] == 3
    assert "recorded water the plants" in shown["result"]["answer"]
    assert task_id in listed and "agent-2" in listed
    assert "already finished (completed)" in refused.stderr
    assert "no task with id '0000" in unknown.stderr
