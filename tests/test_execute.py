"""Execution on real sources: Python callables, the example HTTP service, MCP over stdio/HTTP."""

from __future__ import annotations

import pytest

from tests.sources.services import EXAMPLES, MCP_CONFIG, REPO_ROOT, start_shop
from toolnav.catalog.sources.mcp import tools_from_mcp_config
from toolnav.catalog.sources.python import tools_from_module
from toolnav.errors import ConfigError, ToolExecutionError
from toolnav.execute import Executor
from toolnav.inputs import InputRequired
from toolnav.tool import Tool

pytestmark = [pytest.mark.timeout(60), pytest.mark.anyio]

PYTHON_TOOLS = {tool.name: tool for tool in tools_from_module(str(EXAMPLES / "python_tools.py"))}
NO_SERVERS = {}.get


async def run_one(tool, arguments, **limits):
    """Execute one call on a fresh executor that knows no MCP servers."""
    async with Executor(NO_SERVERS, **limits) as executor:
        return await executor.execute(tool, arguments)


@pytest.fixture(scope="module")
def shop():
    server, url, tools = start_shop()
    yield url, {tool.name: tool for tool in tools}
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def calc():
    """The example server's tools and its config lookup."""
    tools, servers = tools_from_mcp_config(MCP_CONFIG)
    return {tool.name: tool for tool in tools}, servers.get


async def test_python_call_returns_structured_data():
    result = await run_one(PYTHON_TOOLS["convert_temperature"], {"value": 100, "unit": "C"})
    assert not result.is_error
    assert result.data == {"value": 212.0, "unit": "F"}
    assert result.content == '{"value": 212.0, "unit": "F"}'


async def test_python_exception_becomes_tool_error():
    result = await run_one(PYTHON_TOOLS["divide"], {"numerator": 1, "denominator": 0})
    assert result.is_error
    assert "ZeroDivisionError" in result.content and result.data is None


async def test_timeout_becomes_tool_error():
    result = await run_one(PYTHON_TOOLS["wait"], {"seconds": 2}, timeout_seconds=0.2)
    assert result.is_error and "tool 'wait' timed out after 0.2 s" in result.content
    assert "keeps running in its worker thread" in result.content
    assert result.seconds < 1.5


async def test_async_python_tool_is_cancelled_on_timeout():
    import anyio

    finished = []

    async def nap(seconds: float) -> str:
        await anyio.sleep(seconds)
        finished.append(seconds)
        return "rested"

    tool = Tool(name="nap", binding={"kind": "python", "target": f"{__name__}:_NAP"})
    globals()["_NAP"] = nap
    result = await run_one(tool, {"seconds": 0.5}, timeout_seconds=0.1)
    assert result.is_error and "timed out after 0.1 s (cancelled)" in result.content
    await anyio.sleep(0.6)
    assert finished == []  # cancelled, not left running


async def test_output_is_truncated_at_the_limit():
    result = await run_one(PYTHON_TOOLS["repeat_text"], {"text": "abc", "times": 100},
                           max_output_chars=50)
    assert not result.is_error and result.truncated
    assert result.content.startswith("abc" * 16) and "limit 50" in result.content


async def test_unbound_and_broken_bindings_are_tool_errors():
    assert "no executable binding" in (await run_one(Tool(name="x"), {})).content
    broken = Tool(name="y", binding={"kind": "python", "target": "no_such_mod:f"})
    assert (await run_one(broken, {})).is_error


async def test_positional_only_parameters_are_passed_in_order():
    power = Tool(name="pow", binding={"kind": "python", "target": "operator:pow",
                                      "positional": ["a", "b"]})
    assert (await run_one(power, {"b": 3, "a": 2})).data == 8


async def test_http_get_with_path_and_query(shop):
    _, tools = shop
    result = await run_one(tools["search_items"], {"q": "lamp", "limit": 1})
    assert not result.is_error and result.data == [{"id": 1, "name": "desk lamp", "price": 25.0}]
    assert (await run_one(tools["get_item"], {"item_id": 3})).data["name"] == "oak desk"


async def test_http_post_with_header_and_body(shop):
    _, tools = shop
    result = await run_one(tools["create_order"], {"X-Customer": "ann", "item_id": 2,
                                                   "quantity": 3})
    assert not result.is_error
    assert result.data["customer"] == "ann" and result.data["quantity"] == 3


async def test_http_error_status_becomes_tool_error(shop):
    _, tools = shop
    result = await run_one(tools["get_item"], {"item_id": 99})
    assert result.is_error and "HTTP 404" in result.content and "no item 99" in result.content


async def test_http_unreachable_becomes_tool_error(shop):
    _, tools = shop
    dead = Tool(name="dead", binding={**tools["get_item"].binding,
                                      "base_url": "http://127.0.0.1:9"})
    result = await run_one(dead, {"item_id": 1}, timeout_seconds=2)
    assert result.is_error and "http://127.0.0.1:9/items/1 failed" in result.content


async def test_mcp_call_over_stdio(calc):
    tools, servers = calc
    async with Executor(servers) as executor:
        result = await executor.execute(tools["calc__multiply"], {"a": 6, "b": 7})
        assert not result.is_error
        assert "42" in result.content
        # One server process answers both calls: the session is reused.
        counts = [(await executor.execute(tools["calc__calls_served"], {})).content
                  for _ in range(2)]
        assert executor.downstream_states()["calc"]["state"] == "ready"
    assert counts == ['{"result": 1}', '{"result": 2}']
    async with Executor(servers) as fresh:  # a new executor starts its own server
        assert (await fresh.execute(tools["calc__calls_served"], {})).data == {"result": 1}


async def test_mcp_server_that_cannot_start_is_a_tool_error(calc):
    tools, _ = calc
    async with Executor({"calc": {"command": "/nonexistent/server"}}.get,
                        timeout_seconds=10) as executor:
        result = await executor.execute(tools["calc__multiply"], {"a": 1, "b": 2})
    assert result.is_error and result.seconds < 10
    assert result.content == "MCP server 'calc': command not found: '/nonexistent/server'"


async def test_mcp_unknown_server_is_a_tool_error(calc):
    tools, _ = calc
    result = await run_one(tools["calc__multiply"], {"a": 1, "b": 2})
    assert result.is_error and "MCP server 'calc' is not configured" in result.content


async def test_mcp_error_result_becomes_tool_error(calc):
    tools, servers = calc
    async with Executor(servers) as executor:
        result = await executor.execute(tools["calc__refuse"], {"reason": "no way"})
    assert result.is_error and "refused: no way" in result.content


async def test_executor_must_be_open():
    with pytest.raises(ToolExecutionError, match="not open"):
        await Executor(NO_SERVERS).execute(PYTHON_TOOLS["divide"], {"numerator": 1,
                                                                     "denominator": 2})


def test_bad_limits():
    with pytest.raises(ConfigError):
        Executor(NO_SERVERS, timeout_seconds=0)


def test_cli_call_validates_then_executes(tmp_path):
    import subprocess
    import sys

    def toolnav(*args, check_exit=0):
        process = subprocess.run([sys.executable, "-m", "toolnav", "--home", str(tmp_path),
                                  *args], capture_output=True, text=True, timeout=60)
        assert process.returncode == check_exit, process.stdout + process.stderr
        assert "Traceback" not in process.stderr
        return process

    toolnav("add", str(EXAMPLES / "python_tools.py"))
    assert toolnav("call", "add_numbers", "--args", '{"a": "2", "b": 40}').stdout == "42\n"
    invalid = toolnav("call", "add_numbers", "--args", '{"a": "x", "c": 1}', check_exit=1)
    assert "- a: wrong type" in invalid.stderr and "- b: required parameter is missing" \
        in invalid.stderr and "- c: unknown parameter" in invalid.stderr
    failed = toolnav("call", "divide", "--args", '{"numerator": 1, "denominator": 0}',
                     check_exit=1)
    assert "ZeroDivisionError" in failed.stderr
    assert "no tool named" in toolnav("call", "nope", check_exit=1).stderr


def test_cli_call_runs_an_mcp_tool_from_the_stored_server_config(tmp_path):
    import json
    import sqlite3
    import subprocess
    import sys

    config = {"mcpServers": {"calc": {**MCP_CONFIG["mcpServers"]["calc"],
                                      "env": {"CALC_TOKEN": "s3cret-value"}}}}
    path = tmp_path / "servers.json"
    path.write_text(json.dumps(config))
    home = tmp_path / "home"

    def toolnav(*args):
        return subprocess.run([sys.executable, "-m", "toolnav", "--home", str(home), *args],
                              capture_output=True, text=True, timeout=60)

    assert toolnav("add", str(path)).returncode == 0
    called = toolnav("call", "calc__multiply", "--args", '{"a": 6, "b": 7}')
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout) == {"result": 42.0}
    with sqlite3.connect(home / "catalog.db") as db:
        records = " ".join(row[0] for row in db.execute("SELECT data FROM tools"))
        stored = json.loads(db.execute("SELECT config FROM servers WHERE name = 'calc'"
                                       ).fetchone()[0])
    assert "calc__multiply" in records and "s3cret-value" not in records
    assert stored["env"] == {"CALC_TOKEN": "s3cret-value"}
    assert (home / "logs" / "downstream.log").exists()  # the server's stderr went there


async def test_mcp_over_streamable_http():
    from tests.sources.services import start_mcp_http

    process, url = start_mcp_http()
    try:
        import anyio.to_thread

        tools, servers = await anyio.to_thread.run_sync(  # it runs its own event loop
            tools_from_mcp_config, {"mcpServers": {"web": {"url": url}}})
        shout = {tool.name: tool for tool in tools}["web__shout"]
        assert shout.binding == {"kind": "mcp", "server": "web", "tool": "shout"}
        assert servers == {"web": {"url": url}}
        async with Executor(servers.get) as executor:
            result = await executor.execute(shout, {"text": "hi"})
        assert not result.is_error and "HI" in result.content
    finally:
        process.kill()
        process.wait()


async def test_http_reading_stops_at_the_output_limit():
    """An endless response is cut at the limit instead of being read until the timeout."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Endless(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"x" * 4096)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tool = Tool(name="stream", binding={"kind": "http", "method": "GET", "path": "/",
                                            "base_url": f"http://127.0.0.1:{server.server_port}"})
        result = await run_one(tool, {}, timeout_seconds=5, max_output_chars=1000)
    finally:
        server.shutdown()
        server.server_close()
    assert not result.is_error and result.truncated and result.seconds < 3
    assert result.content.startswith("x" * 1000) and "limit 1000" in result.content


def test_sync_callers_hold_the_executor_through_the_blocking_runner(calc):
    from toolnav._blocking import BlockingRunner

    tools, servers = calc
    with BlockingRunner() as runner, runner.wrap(Executor(servers)) as executor:
        first = runner.call(executor.execute, tools["calc__calls_served"], {})
        second = runner.call(executor.execute, tools["calc__calls_served"], {})
        python = runner.call(executor.execute, PYTHON_TOOLS["divide"],
                             {"numerator": 1, "denominator": 4})
    assert (first.data, second.data) == ({"result": 1}, {"result": 2})  # one session
    assert python.data == 0.25


FIXTURES = {tool.name: tool for tool in tools_from_module(
    str(REPO_ROOT / "tests" / "server" / "conformance" / "input_tools.py"))}


async def test_python_tool_asks_for_input_and_gets_the_answers():
    tool = FIXTURES["test_input_required_result_multi_round"]  # a sync tool: worker thread
    async with Executor(NO_SERVERS) as executor:
        first = await executor.execute(tool, {})
        second = await executor.execute(tool, {}, state=first.request_state, responses={
            "step1": {"action": "accept", "content": {"name": "Ann"}}})
        third = await executor.execute(tool, {}, state=second.request_state, responses={
            "step2": {"action": "accept", "content": {"color": "red"}}})
        limited = await executor.execute(FIXTURES["test_input_required_result_capabilities"],
                                         {}, capabilities={"sampling"})
    assert first.is_error and set(first.input_requests) == {"step1"}
    assert first.request_state == "round-1" and "needs input from the client" in first.content
    assert set(second.input_requests) == {"step2"} and second.request_state == "round-2:Ann"
    assert not third.is_error and third.content == "Ann likes red."
    assert third.input_requests is None
    assert set(limited.input_requests) == {"greeting"}  # the client cannot elicit


async def test_a_tool_continues_as_a_task_only_where_the_call_may_become_one():
    tool = FIXTURES["test_tool_with_task"]
    answer = {"user_name": {"action": "accept", "content": {"name": "Ann"}}}
    async with Executor(NO_SERVERS) as executor:
        asking = await executor.execute(tool, {}, may_become_task=True)
        handed = await executor.execute(tool, {}, responses=answer, may_become_task=True)
        in_task = await executor.execute(tool, {}, responses=answer)
    assert set(asking.input_requests) == {"user_name"} and not asking.becomes_task
    assert handed.is_error and handed.becomes_task and "continues as a task" in handed.content
    assert not in_task.is_error and not in_task.becomes_task
    assert in_task.content == "Hello from the task, Ann!"


def test_input_required_rejects_unknown_request_kinds():
    with pytest.raises(ValueError, match="at least one"):
        InputRequired({})
    with pytest.raises(ValueError, match="must be a mapping with a method"):
        InputRequired({"x": {"method": "tools/call"}})
