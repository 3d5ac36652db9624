"""The calling loop end to end: real catalog and router, example tools, fake LLM over HTTP."""

from __future__ import annotations

import json

import anyio
import pytest

from tests.fake_llm import FakeLLM, text, tool_call
from tests.sources.services import EXAMPLES
from toolnav.agent import Agent, AgentParams
from toolnav.config import LLMSettings
from toolnav.errors import ConfigError, LLMError
from toolnav.execute import Executor
from toolnav.llm import ChatClient
from toolnav.runtime import Toolnav

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def toolnav(tmp_path, hashing_embedder):
    with Toolnav.open(tmp_path / "home", embedder=hashing_embedder) as opened:
        opened.catalog.add_source(EXAMPLES / "python_tools.py")
        yield opened


def run_agent(router, client, request, *, trace_dir, server_config=None, **options):
    """Run one request through an Agent on a fresh executor (its own event loop)."""
    async def main():
        async with Executor(server_config or {}.get) as executor:
            agent = Agent(router, client, trace_dir=trace_dir, executor=executor, **options)
            return await agent.run(request)

    return anyio.run(main)


def _run(toolnav, script, request="add 2 and 3", **params):
    with FakeLLM(script) as llm:
        client = ChatClient(LLMSettings(base_url=llm.base_url, model="fake", max_retries=0))
        outcome = run_agent(toolnav.router(), client, request,
                            trace_dir=toolnav.settings.home / "traces",
                            params=AgentParams(**params), feedback=toolnav.catalog)
    trace = [json.loads(line) for line in outcome.trace_path.read_text().splitlines()]
    return outcome, llm.requests, trace


def test_valid_call_executes_and_answer_is_returned(toolnav):
    outcome, requests, trace = _run(toolnav, [
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


def test_invalid_call_gets_the_validation_error_then_the_repair_executes(toolnav):
    outcome, requests, trace = _run(toolnav, [
        tool_call("add_numbers", {"a": "two", "b": 3}),
        tool_call("add_numbers", {"a": "2", "b": 3}, call_id="call_2"),  # "2" is coerced
        text("5")])
    assert outcome.status == "answered" and outcome.repairs == 1
    feedback = requests[1]["messages"][-1]
    assert feedback["role"] == "tool" and feedback["tool_call_id"] == "call_1"
    assert "- a: wrong type; expected integer" in feedback["content"]
    assert 'given string "two"' in feedback["content"]
    assert outcome.calls == [{"tool": "add_numbers", "arguments": {"a": 2, "b": 3},
                              "result": outcome.calls[0]["result"]}]
    assert [r["ok"] for r in trace if r["event"] == "validation"] == [False, True]


def test_repairs_stop_at_the_bound(toolnav):
    bad = [tool_call("add_numbers", {"a": 1}, call_id=f"c{i}") for i in range(5)]
    outcome, requests, _ = _run(toolnav, bad, max_repairs=2)
    assert outcome.status == "repairs_exhausted" and outcome.repairs == 2
    assert "still invalid after 2 repair(s)" in outcome.answer
    assert "- b: required parameter is missing" in outcome.answer
    assert len(requests) == 3 and not outcome.calls


def test_unknown_tool_name_counts_as_a_repair(toolnav):
    outcome, requests, _ = _run(toolnav, [tool_call("launch_rocket", {}), text("sorry")])
    assert outcome.status == "answered" and outcome.repairs == 1
    assert "not offered" in requests[1]["messages"][-1]["content"]


def test_tool_exception_becomes_a_tool_error_message(toolnav):
    outcome, requests, _ = _run(toolnav, [
        tool_call("divide", {"numerator": 1, "denominator": 0}), text("cannot divide by 0")],
        request="divide 1 by 0")
    assert outcome.status == "answered"
    assert outcome.calls[0]["result"]["is_error"]
    message = requests[1]["messages"][-1]["content"]
    assert message.startswith("Tool error:") and "ZeroDivisionError" in message
    assert toolnav.catalog.feedback_scores()["divide"][1] == 1


def test_step_limit(toolnav):
    calls = [tool_call("add_numbers", {"a": 1, "b": i}, call_id=f"c{i}") for i in range(3)]
    outcome, _, _ = _run(toolnav, calls, max_steps=2)
    assert outcome.status == "step_limit" and outcome.steps == 2 and len(outcome.calls) == 2
    assert "within 2 LLM turns" in outcome.answer


def test_llm_failure_and_bad_input(toolnav):
    with pytest.raises(LLMError):
        _run(toolnav, [(500, {"error": "down"})])
    with pytest.raises(ConfigError):
        AgentParams(max_steps=0)
    with pytest.raises(ConfigError, match="empty"):
        run_agent(toolnav.router(), ChatClient(LLMSettings(base_url="http://x", model="m")),
                  "  ", trace_dir=toolnav.settings.home)


def _toolnav(home, *args, env=None, check_exit=0):
    import os
    import subprocess
    import sys

    process = subprocess.run([sys.executable, "-m", "toolnav", "--home", str(home), *args],
                             capture_output=True, text=True, timeout=120,
                             env={**os.environ, **(env or {})})
    assert process.returncode == check_exit, process.stdout + process.stderr
    assert "Traceback" not in process.stderr
    return process


def test_cli_run_and_trace(tmp_path):
    home = tmp_path / "home"
    _toolnav(home, "add", str(EXAMPLES / "python_tools.py"))
    script = [tool_call("convert_temperature", {"value": "212", "unit": "F"}), text("100 C")]
    with FakeLLM(script) as llm:
        env = {"TOOLNAV_LLM_BASE_URL": llm.base_url, "TOOLNAV_LLM_MODEL": "fake"}
        ran = _toolnav(home, "run", "convert 212 F to Celsius", "-k", "3", env=env)
    assert "convert_temperature" in ran.stdout and '"value": 100.0' in ran.stdout
    assert "answered after 2 LLM turn(s), 0 repair(s)" in ran.stdout and "100 C" in ran.stdout
    shown = _toolnav(home, "trace").stdout
    for event in ("request", "route", "render", "llm", "validation", "execution", "outcome"):
        assert event in shown
    assert "answered: 100 C" in shown


def test_cli_run_without_llm_and_trace_errors(tmp_path):
    env = {"TOOLNAV_LLM_BASE_URL": "", "TOOLNAV_LLM_MODEL": "", "OPENAI_API_KEY": ""}
    failed = _toolnav(tmp_path, "run", "anything", env=env, check_exit=1)
    assert "no LLM endpoint configured: set TOOLNAV_LLM_BASE_URL" in failed.stderr
    assert "no traces under" in _toolnav(tmp_path, "trace", check_exit=1).stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    assert "is not a JSON line" in _toolnav(tmp_path, "trace", str(bad), check_exit=1).stderr


def test_loop_calls_a_downstream_mcp_tool(tmp_path, hashing_embedder):
    from tests.sources.services import MCP_CONFIG

    config = tmp_path / "servers.json"
    config.write_text(json.dumps(MCP_CONFIG))
    with Toolnav.open(tmp_path / "home", embedder=hashing_embedder) as toolnav, \
            FakeLLM([tool_call("calc__multiply", {"a": 6, "b": "7"}), text("42")]) as llm:
        toolnav.catalog.add_source(config)
        client = ChatClient(LLMSettings(base_url=llm.base_url, model="fake"))
        outcome = run_agent(toolnav.router(), client, "multiply 6 by 7",
                            trace_dir=tmp_path / "traces",
                            server_config=toolnav.catalog.server_config)
    assert outcome.status == "answered"
    assert outcome.calls[0]["arguments"] == {"a": 6, "b": 7}
    assert '"result": 42' in outcome.calls[0]["result"]["content"]
    assert '"result": 42' in llm.requests[1]["messages"][-1]["content"]


def test_abstention_offers_no_tools(toolnav):
    from toolnav.route import RouteResult

    class Abstaining:
        def route(self, request, k=5):
            return RouteResult(request=request, candidates=[], abstained=True, best_score=0.1)

    with FakeLLM([text("I have no tool for that.")]) as llm:
        client = ChatClient(LLMSettings(base_url=llm.base_url, model="fake"))
        outcome = run_agent(Abstaining(), client, "sing a song",
                            trace_dir=toolnav.settings.home / "t")
    assert outcome.status == "answered" and "tools" not in llm.requests[0]


def test_a_dotted_name_is_offered_safely_and_mapped_back(toolnav):
    import dataclasses

    from toolnav.route import Candidate, RouteResult

    dotted = dataclasses.replace(toolnav.catalog.get("add_numbers"), name="math.add.numbers")

    class OneTool:
        def route(self, request, k=5):
            return RouteResult(request=request, abstained=False, best_score=1.0,
                               candidates=[Candidate(tool=dotted, score=1.0, rank=1)])

    with FakeLLM([tool_call("math_add_numbers", {"a": 2, "b": 3}), text("5")]) as llm:
        client = ChatClient(LLMSettings(base_url=llm.base_url, model="fake"))
        outcome = run_agent(OneTool(), client, "add 2 and 3", trace_dir=toolnav.settings.home / "t")
    assert [tool["function"]["name"] for tool in llm.requests[0]["tools"]] == \
        ["math_add_numbers"]
    assert outcome.status == "answered" and outcome.calls[0]["tool"] == "math.add.numbers"
    assert outcome.calls[0]["result"]["content"] == "5"
