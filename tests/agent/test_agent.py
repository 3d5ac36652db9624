"""The calling loop end to end: real toolnav and router, example tools, fake LLM over HTTP."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tests.fake_llm import FakeLLM, text, tool_call
from toolnav.agent import Agent, AgentParams
from toolnav.config import LLMSettings
from toolnav.errors import ConfigError, LLMError
from toolnav.llm import ChatClient
from toolnav.route import Candidate, RouteResult

pytestmark = [pytest.mark.timeout(60), pytest.mark.anyio]


def _settings(llm, **options):
    return LLMSettings(base_url=llm.base_url, model="fake", max_retries=0, **options)


async def _run(toolnav, executor, script, request="add 2 and 3", **params):
    with FakeLLM(script) as llm:
        async with Agent(toolnav.router(), _settings(llm), executor=executor,
                         trace_dir=toolnav.settings.home / "traces", params=AgentParams(**params),
                         feedback=toolnav.catalog) as agent:
            outcome = await agent.run(request)
    return outcome, llm.requests, _trace(outcome.trace_path)


def _trace(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_valid_call_executes_and_answer_is_returned(toolnav, executor):
    outcome, requests, trace = await _run(toolnav, executor, [
        tool_call("add_numbers", {"a": 2, "b": 3}), text("2 + 3 = 5")])
    assert outcome.status == "answered" and outcome.answer == "2 + 3 = 5"
    assert outcome.calls[0]["result"]["content"] == "5" and outcome.repairs == 0
    offered = [tool["function"]["name"] for tool in requests[0]["tools"]]
    assert "add_numbers" in offered
    assert requests[1]["messages"][-1] == {"role": "tool", "tool_call_id": "call_1",
                                           "content": "5"}
    events = [record["event"] for record in trace]
    assert events == ["request", "route", "render", "llm", "validation", "execution", "llm",
                      "outcome"]
    assert trace[1]["candidates"] and trace[2]["tokens"] > 0
    assert toolnav.catalog.feedback_scores()["add_numbers"][1] == 1


async def test_invalid_call_gets_the_validation_error_then_the_repair_executes(toolnav,
                                                                               executor):
    outcome, requests, trace = await _run(toolnav, executor, [
        tool_call("add_numbers", {"a": "two"}),
        tool_call("add_numbers", {"a": "2", "b": 3}, call_id="call_2"),  # "2" is coerced
        text("5")])
    assert outcome.status == "answered" and outcome.repairs == 1
    feedback = requests[1]["messages"][-1]
    assert feedback["role"] == "tool" and feedback["tool_call_id"] == "call_1"
    assert "- a: wrong type; expected integer" in feedback["content"]
    assert 'given string "two"' in feedback["content"]
    assert outcome.calls == [{"tool": "add_numbers", "arguments": {"a": 2, "b": 3},
                              "result": outcome.calls[0]["result"]}]
    validations = [r for r in trace if r["event"] == "validation"]
    assert [r["ok"] for r in validations] == [False, True]
    # The failed validation names the tool and lists every issue, not only the first.
    assert validations[0]["tool"] == "add_numbers"
    assert {issue["path"] for issue in validations[0]["issues"]} == {"a", "b"}


async def test_repairs_stop_at_the_bound(toolnav, executor):
    bad = [tool_call("add_numbers", {"a": 1}, call_id=f"c{i}") for i in range(5)]
    outcome, requests, _ = await _run(toolnav, executor, bad, max_repairs=2)
    assert outcome.status == "repairs_exhausted" and outcome.repairs == 2
    assert "still invalid after 2 repair(s)" in outcome.answer
    assert "- b: required parameter is missing" in outcome.answer
    assert len(requests) == 3 and not outcome.calls


async def test_unknown_tool_name_counts_as_a_repair(toolnav, executor):
    outcome, requests, _ = await _run(toolnav, executor,
                                      [tool_call("launch_rocket", {}), text("sorry")])
    assert outcome.status == "answered" and outcome.repairs == 1
    assert "not offered" in requests[1]["messages"][-1]["content"]


async def test_tool_exception_becomes_a_tool_error_message(toolnav, executor):
    outcome, requests, _ = await _run(toolnav, executor, [
        tool_call("divide", {"numerator": 1, "denominator": 0}), text("cannot divide by 0")],
        request="divide 1 by 0")
    assert outcome.status == "answered"
    assert outcome.calls[0]["result"]["is_error"]
    message = requests[1]["messages"][-1]["content"]
    assert message.startswith("Tool error:") and "ZeroDivisionError" in message
    assert toolnav.catalog.feedback_scores()["divide"][1] == 1


async def test_step_limit(toolnav, executor):
    calls = [tool_call("add_numbers", {"a": 1, "b": i}, call_id=f"c{i}") for i in range(3)]
    outcome, _, _ = await _run(toolnav, executor, calls, max_steps=2)
    assert outcome.status == "step_limit" and outcome.steps == 2 and len(outcome.calls) == 2
    assert "within 2 LLM turns" in outcome.answer


@pytest.mark.parametrize("answer, message", [
    ((500, {"error": "down"}), "HTTP 500"),
    ((401, {"error": "bad key"}), "HTTP 401"),
    ((200, b"<html>not json"), "non-JSON"),
    ((200, {"choices": []}), "not a chat completion"),
])
async def test_llm_failure_is_raised_and_traced(toolnav, executor, answer, message):
    with FakeLLM([answer]) as llm:
        async with Agent(toolnav.router(), _settings(llm), executor=executor,
                         trace_dir=toolnav.settings.home / "traces") as agent:
            state = await agent.start("add 2 and 3")
            with pytest.raises(LLMError, match=message):
                await agent.drive(state)
    trace = _trace(Path(state.trace_path))
    assert [r["event"] for r in trace][-2:] == ["error", "outcome"]
    assert message in trace[-2]["error"] and trace[-1]["status"] == "failed"


async def test_bad_input(toolnav, executor):
    with pytest.raises(ConfigError):
        AgentParams(max_steps=0)
    async with Agent(toolnav.router(), LLMSettings(base_url="http://x", model="m"),
                     executor=executor) as agent:
        with pytest.raises(ConfigError, match="empty"):
            await agent.run("  ")
    with pytest.raises(LLMError, match="TOOLNAV_LLM_BASE_URL"):
        Agent(toolnav.router(), LLMSettings(), executor=executor)


async def test_trace_survives_lone_surrogates(toolnav, executor):
    outcome, _, trace = await _run(toolnav, executor, [text("broken \udc80 text")])
    assert outcome.answer == "broken \udc80 text"
    assert trace[-1]["answer"] == "broken \udc80 text"


async def test_without_trace_dir_no_file_is_written(toolnav, executor, tmp_path):
    with FakeLLM([text("hi")]) as llm:
        async with Agent(toolnav.router(), _settings(llm), executor=executor) as agent:
            outcome = await agent.run("say hi")
    assert outcome.status == "answered" and outcome.trace_path is None


def test_blocking_context_manager_closes_its_client(toolnav):
    with FakeLLM([tool_call("add_numbers", {"a": 2, "b": 3}), text("5")]) as llm:
        with Agent(toolnav.router(), _settings(llm)) as agent:
            outcome = agent.run("add 2 and 3")
        client = agent.agent.llm
    assert outcome.status == "answered" and outcome.calls[0]["result"]["content"] == "5"
    assert isinstance(client, ChatClient) and client._http.is_closed


async def test_a_custom_chat_model_and_abstention(toolnav, executor):
    from toolnav.llm import AssistantMessage

    class Scripted:
        def __init__(self):
            self.seen = []

        async def complete(self, messages, tools=None):
            self.seen.append(tools)
            return AssistantMessage("I have no tool for that.")

        async def aclose(self):
            pass

    class Abstaining:
        def route(self, request, k=5):
            return RouteResult(request=request, candidates=[], abstained=True, best_score=0.1,
                               lift=0.0)

    model = Scripted()
    async with Agent(Abstaining(), model, executor=executor) as agent:
        outcome = await agent.run("sing a song")
    assert outcome.status == "answered" and model.seen == [None]


async def test_a_dotted_name_is_offered_safely_and_mapped_back(toolnav, executor):
    dotted = dataclasses.replace(toolnav.catalog.get("add_numbers"), name="math.add.numbers")

    class OneTool:
        def route(self, request, k=5):
            return RouteResult(request=request, abstained=False, best_score=1.0, lift=0.5,
                               candidates=[Candidate(tool=dotted, score=1.0, rank=1)])

    with FakeLLM([tool_call("math_add_numbers", {"a": 2, "b": 3}), text("5")]) as llm:
        async with Agent(OneTool(), _settings(llm), executor=executor) as agent:
            outcome = await agent.run("add 2 and 3")
    assert [tool["function"]["name"] for tool in llm.requests[0]["tools"]] == \
        ["math_add_numbers"]
    assert outcome.status == "answered" and outcome.calls[0]["tool"] == "math.add.numbers"
    assert outcome.calls[0]["result"]["content"] == "5"


async def test_idempotency_key_reaches_a_tool_that_declares_it(toolnav, executor):
    from toolnav.agent.state import PlannedCall
    from toolnav.tool import Tool

    seen = {}

    class Recording:
        async def execute(self, tool, arguments):
            from toolnav.execute import ToolResult

            seen[tool.name] = dict(arguments)
            return ToolResult(tool.name, False, "ok")

    keyed = Tool("charge", input_schema={"type": "object", "properties": {
        "amount": {"type": "integer"}, "idempotency_key": {"type": "string"}}})
    plain = Tool("plain", input_schema={"type": "object", "properties": {}})
    async with Agent(toolnav.router(), LLMSettings(base_url="http://x", model="m"),
                     executor=Recording()) as agent:
        state = await agent.start("charge 5")
        await agent.call_tool(state, PlannedCall("c1", keyed, {"amount": 5}), "wf:3")
        await agent.call_tool(state, PlannedCall("c2", plain, {}), "wf:4")
    assert seen == {"charge": {"amount": 5, "idempotency_key": "wf:3"}, "plain": {}}


def test_three_lines_from_a_home(toolnav, hashing_embedder):
    home = toolnav.settings.home
    toolnav.close()
    with (FakeLLM([tool_call("add_numbers", {"a": 2, "b": 3}), text("5")]) as llm,
          Agent.open(home, base_url=llm.base_url, model="fake",
                     embedder=hashing_embedder) as agent):
        outcome = agent.run("add 2 and 3")
    assert outcome.status == "answered" and outcome.calls[0]["result"]["content"] == "5"
    assert outcome.trace_path.parent == home / "traces"
    assert agent.agent.llm._http.is_closed
