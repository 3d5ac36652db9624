"""Agent tasks that ask their user, through `toolnav serve` over HTTP: a task submitted by a
client that declared elicitation offers its agent ``ask_user``; the model's question parks the
task in ``input_required`` with an elicitation request, the answer (``respond_task``, or
tasks/update for a Tasks client) is the tool's result and the agent finishes with it. A client
that cannot answer is never asked. A task waiting for its user's answer survives SIGKILL of the
server, and its model is not asked again for the turn it already took."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from tests.server.conftest import free_port, mcp_http_client, serve_process
from tests.server.tasks_support import agents_file, build_task_home, wait_for_task
from tests.server.test_input_required import rpc, serve_killable, task_until
from toolnav.testing import FakeLLM, text, tool_call

pytestmark = [pytest.mark.timeout(180), pytest.mark.anyio]


@pytest.fixture(scope="module")
def task_home(tmp_path_factory, real_embedder):
    return build_task_home(tmp_path_factory.mktemp("ask-home"), real_embedder)


def asking(body: dict[str, Any]) -> dict[str, Any]:
    """Ask the user for a colour when ask_user is offered, then answer with the reply."""
    answers = [message["content"] for message in body["messages"] if message["role"] == "tool"]
    if answers:
        return text(f"Painted it: {answers[-1]}")
    if "ask_user" in offered(body):
        return tool_call("ask_user", {"question": "Which colour should the fence be?"})
    return text("Painted it white, nobody to ask.")


def offered(body: dict[str, Any]) -> list[str]:
    return [tool["function"]["name"] for tool in body.get("tools") or []]


@pytest.fixture
def llm():
    with FakeLLM(respond=asking) as fake:
        yield fake


@pytest.fixture
def server_args(tmp_path, llm):
    return ["--agents", str(agents_file(tmp_path, llm.base_url)),
            "--tasks-db", f"sqlite:///{tmp_path / 'tasks.sqlite'}"]


async def never(context, params):  # declares elicitation; the answers go by respond_task
    raise AssertionError("a task's question is not asked during submit_task")


async def test_agent_asks_its_user_and_goes_on_with_the_answer(task_home, server_args, llm):
    with serve_process(task_home, *server_args) as url:
        async with mcp_http_client(url, elicitation_callback=never) as client:
            task_id = (await client.call_tool("submit_task", {"task": "paint the fence"})
                       ).structured_content["id"]
            parked = await wait_for_task(client, task_id, ("input_required", "failed"))
            wrong = await client.call_tool("respond_task", {"id": task_id, "responses": {
                "nope": {"action": "accept", "content": {"answer": "red"}}}})
            answered = await client.call_tool("respond_task", {"id": task_id, "responses": {
                "ask_user_1": {"action": "accept", "content": {"answer": "green"}}}})
            done = await wait_for_task(client, task_id)
        async with mcp_http_client(url) as mute:  # no elicitation: its agent cannot ask
            mute_id = (await mute.call_tool("submit_task", {"task": "paint the shed"})
                       ).structured_content["id"]
            mute_done = await wait_for_task(mute, mute_id)
        created = (await rpc(url, "tools/call", {"name": "submit_task",
                                                 "arguments": {"task": "paint the gate"}}))
        extension_id = created["result"]["taskId"]
        asked = await task_until(url, extension_id, {"input_required", "failed"})
        await rpc(url, "tasks/update", {"taskId": extension_id, "inputResponses": {
            "ask_user_1": {"action": "decline"}}})
        declined = await task_until(url, extension_id, {"completed", "failed"})

    request = parked["input_requests"]["ask_user_1"]
    assert parked["status"] == "input_required", parked
    assert request["method"] == "elicitation/create"
    assert request["params"]["message"] == "Which colour should the fence be?"
    assert wrong.is_error and "waits for no answer to nope" in wrong.content[0].text
    assert not answered.is_error and answered.structured_content["input_requests"] == {}
    assert done["status"] == "completed", done
    assert done["result"]["answer"] == "Painted it: green"
    assert [step["tool"] for step in done["steps"] if step["kind"] == "execution"] == \
        ["ask_user"]
    assert mute_done["result"]["answer"] == "Painted it white, nobody to ask."
    assert asked["status"] == "input_required" and set(asked["inputRequests"]) == {"ask_user_1"}
    assert declined["status"] == "completed", declined
    assert declined["result"]["content"][0]["text"].startswith(
        "Painted it: Tool error: the user did not answer (they chose decline)")
    shed = [body for body in llm.requests if body["messages"][1]["content"] == "paint the shed"]
    assert shed and all("ask_user" not in offered(body) for body in shed)


async def test_a_question_waiting_for_its_answer_survives_sigkill(task_home, tmp_path, llm):
    database, log = f"sqlite:///{tmp_path / 'tasks.sqlite'}", tmp_path / "serve.log"
    extra = ("--agents", str(agents_file(tmp_path, llm.base_url)))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = serve_killable(task_home, port, database, log, *extra)
    try:
        created = (await rpc(url, "tools/call", {"name": "submit_task",
                                                 "arguments": {"task": "paint the door"}}))
        task_id = created["result"]["taskId"]
        await task_until(url, task_id, {"input_required"})
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        server = serve_killable(task_home, port, database, log, *extra)
        after = await task_until(url, task_id, {"input_required"})
        await rpc(url, "tasks/update", {"taskId": task_id, "inputResponses": {
            "ask_user_1": {"action": "accept", "content": {"answer": "blue"}}}})
        done = await task_until(url, task_id, {"completed", "failed"})
    finally:
        server.kill()
        server.wait(10)
    turns = [body for body in llm.requests if body["messages"][1]["content"] == "paint the door"]
    assert set(after["inputRequests"]) == {"ask_user_1"}
    assert done["status"] == "completed", done
    assert done["result"]["content"][0]["text"] == "Painted it: blue"
    assert len(turns) == 2  # the question's turn was recorded: not asked again after the kill
