"""An agent whose model is the client's (``llm = "sampling"``), through `toolnav serve` over
HTTP: each LLM turn of its task is a ``sampling/createMessage`` input request (the conversation
and the routed tools in MCP form); the client's answers, given with ``respond_task``, drive
the loop (a tool use runs the tool, a text ends the task). A client that did not declare
sampling cannot give it tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.server.conftest import mcp_http_client, serve_process
from tests.server.tasks_support import build_task_home, wait_for_task

pytestmark = [pytest.mark.timeout(180), pytest.mark.anyio]


@pytest.fixture(scope="module")
def task_home(tmp_path_factory, real_embedder):
    return build_task_home(tmp_path_factory.mktemp("sampling-home"), real_embedder)


def agents(folder: Path) -> Path:
    path = folder / "agents.toml"
    path.write_text('[agents.client-model]\nllm = "sampling"\nk = 10\nmax_steps = 4\n')
    return path


async def never(context, params):  # declares sampling; the answers go by respond_task
    raise AssertionError("a task's sampling request is not sent during submit_task")


async def test_sampling_agent_runs_on_the_clients_answers(task_home, tmp_path):
    args = ["--agents", str(agents(tmp_path)), "--tasks-db",
            f"sqlite:///{tmp_path / 'tasks.sqlite'}"]
    with serve_process(task_home, *args) as url:
        async with mcp_http_client(url, sampling_callback=never) as client:
            task_id = (await client.call_tool("submit_task", {"task": "add 2 and 3"})
                       ).structured_content["id"]
            first = await wait_for_task(client, task_id, ("input_required", "failed"))
            request = first["input_requests"]["llm_1"]["params"]
            add = next(tool["name"] for tool in request["tools"]
                       if tool["name"].endswith("add_numbers"))
            await client.call_tool("respond_task", {"id": task_id, "responses": {"llm_1": {
                "role": "assistant", "model": "client-llm", "content": [
                    {"type": "tool_use", "id": "use_1", "name": add,
                     "input": {"a": 2, "b": 3}}]}}})
            second = await wait_for_task(client, task_id, ("input_required", "failed"))
            follow_up = second["input_requests"]["llm_2"]["params"]
            await client.call_tool("respond_task", {"id": task_id, "responses": {"llm_2": {
                "role": "assistant", "model": "client-llm",
                "content": {"type": "text", "text": "2 + 3 = 5"}}}})
            done = await wait_for_task(client, task_id)
        async with mcp_http_client(url) as plain:  # no sampling: refused at once
            refused = await plain.call_tool("submit_task", {"task": "add 1 and 1"})

    assert first["status"] == "input_required", first
    assert request["messages"] == [{"role": "user",
                                    "content": {"type": "text", "text": "add 2 and 3"}}]
    assert request["systemPrompt"] and request["maxTokens"] > 0
    assert add in {tool["name"] for tool in request["tools"]}
    assert follow_up["messages"][1] == {"role": "assistant", "content": {
        "type": "tool_use", "id": "use_1", "name": add, "input": {"a": 2, "b": 3}}}
    assert follow_up["messages"][2] == {"role": "user", "content": [{
        "type": "tool_result", "toolUseId": "use_1",
        "content": [{"type": "text", "text": "5"}]}]}
    assert done["status"] == "completed", done
    assert done["result"]["answer"] == "2 + 3 = 5"
    assert [step["kind"] for step in done["steps"]] == ["llm", "validation", "execution", "llm"]
    assert refused.is_error and "uses your model through MCP sampling" in \
        refused.content[0].text
