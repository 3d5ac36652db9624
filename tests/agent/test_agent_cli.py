"""The agent through `toolnav run` and `toolnav trace` (real processes), and over an MCP tool."""

from __future__ import annotations

import json

import anyio
import pytest

from tests.conftest import run_toolnav as _toolnav
from tests.fake_llm import FakeLLM, text, tool_call
from tests.sources.services import EXAMPLES, MCP_CONFIG
from toolnav.agent import Agent
from toolnav.config import LLMSettings
from toolnav.runtime import Toolnav

pytestmark = pytest.mark.timeout(240)


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


def test_cli_run_with_a_failing_llm_is_one_line_and_traced(tmp_path):
    home = tmp_path / "home"
    _toolnav(home, "add", str(EXAMPLES / "python_tools.py"))
    with FakeLLM([(401, {"error": "bad key"})]) as llm:
        env = {"TOOLNAV_LLM_BASE_URL": llm.base_url, "TOOLNAV_LLM_MODEL": "fake"}
        failed = _toolnav(home, "run", "add 2 and 3", env=env, check_exit=1)
    assert "HTTP 401" in failed.stderr
    shown = _toolnav(home, "trace").stdout
    assert "error" in shown and "failed: " in shown


def test_cli_run_without_llm_and_trace_errors(tmp_path):
    env = {"TOOLNAV_LLM_BASE_URL": "", "TOOLNAV_LLM_MODEL": "", "OPENAI_API_KEY": ""}
    _toolnav(tmp_path, "add", str(EXAMPLES / "python_tools.py"))
    failed = _toolnav(tmp_path, "run", "anything", env=env, check_exit=1)
    assert "no LLM endpoint configured: set TOOLNAV_LLM_BASE_URL" in failed.stderr
    assert "no traces under" in _toolnav(tmp_path, "trace", check_exit=1).stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    assert "is not a JSON line" in _toolnav(tmp_path, "trace", str(bad), check_exit=1).stderr
    partial = tmp_path / "partial.jsonl"
    partial.write_text('{"event": "route"}\n{"event": "validation", "ok": false}\n')
    shown = _toolnav(tmp_path, "trace", str(partial)).stdout
    assert "incomplete route record" in shown and "incomplete validation record" in shown


@pytest.mark.anyio
async def test_loop_calls_a_downstream_mcp_tool(tmp_path, hashing_embedder):
    config = tmp_path / "servers.json"
    config.write_text(json.dumps(MCP_CONFIG))
    with Toolnav.open(tmp_path / "home", embedder=hashing_embedder) as toolnav, \
            FakeLLM([tool_call("calc__multiply", {"a": 6, "b": "7"}), text("42")]) as llm:
        # add_source lists the servers on a loop of its own: from async code, in a thread.
        await anyio.to_thread.run_sync(toolnav.catalog.add_source, config)
        async with toolnav.executor() as executor, Agent(
                toolnav.router(), LLMSettings(base_url=llm.base_url, model="fake"),
                trace_dir=tmp_path / "traces", executor=executor) as agent:
            outcome = await agent.run("multiply 6 by 7")
    assert outcome.status == "answered"
    assert outcome.calls[0]["arguments"] == {"a": 6, "b": 7}
    assert '"result": 42' in outcome.calls[0]["result"]["content"]
    assert '"result": 42' in llm.requests[1]["messages"][-1]["content"]
