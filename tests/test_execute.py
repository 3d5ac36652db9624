"""Execution on real sources: Python callables, the example HTTP service, an MCP stdio server."""

from __future__ import annotations

import pytest

from tests.sources.services import EXAMPLES, MCP_CONFIG, start_shop
from toolnav.catalog.sources.mcp import tools_from_mcp_config
from toolnav.catalog.sources.python import tools_from_module
from toolnav.errors import ConfigError
from toolnav.execute import Executor
from toolnav.tool import Tool

pytestmark = pytest.mark.timeout(60)

PYTHON_TOOLS = {tool.name: tool for tool in tools_from_module(str(EXAMPLES / "python_tools.py"))}


@pytest.fixture(scope="module")
def shop():
    server, url, tools = start_shop()
    yield url, {tool.name: tool for tool in tools}
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def calc_tools():
    return {tool.name: tool for tool in tools_from_mcp_config(MCP_CONFIG)}


def test_python_call_returns_structured_data():
    result = Executor().execute(PYTHON_TOOLS["convert_temperature"], {"value": 100, "unit": "C"})
    assert not result.is_error
    assert result.data == {"value": 212.0, "unit": "F"}
    assert result.content == '{"value": 212.0, "unit": "F"}'


def test_python_exception_becomes_tool_error():
    result = Executor().execute(PYTHON_TOOLS["divide"], {"numerator": 1, "denominator": 0})
    assert result.is_error
    assert "ZeroDivisionError" in result.content and result.data is None


def test_timeout_becomes_tool_error():
    result = Executor(timeout_seconds=0.2).execute(PYTHON_TOOLS["wait"], {"seconds": 2})
    assert result.is_error and "timed out after 0.2 s" in result.content
    assert result.seconds < 1.5


def test_output_is_truncated_at_the_limit():
    result = Executor(max_output_chars=50).execute(PYTHON_TOOLS["repeat_text"],
                                                   {"text": "abc", "times": 100})
    assert not result.is_error and result.truncated
    assert result.content.startswith("abc" * 16) and "limit 50" in result.content


def test_unbound_and_broken_bindings_are_tool_errors():
    assert "no executable binding" in Executor().execute(Tool(name="x"), {}).content
    broken = Tool(name="y", binding={"kind": "python", "target": "no_such_mod:f"})
    assert Executor().execute(broken, {}).is_error


def test_positional_only_parameters_are_passed_in_order():
    power = Tool(name="pow", binding={"kind": "python", "target": "operator:pow",
                                      "positional": ["a", "b"]})
    assert Executor().execute(power, {"b": 3, "a": 2}).data == 8


def test_http_get_with_path_and_query(shop):
    _, tools = shop
    result = Executor().execute(tools["search_items"], {"q": "lamp", "limit": 1})
    assert not result.is_error and result.data == [{"id": 1, "name": "desk lamp", "price": 25.0}]
    assert Executor().execute(tools["get_item"], {"item_id": 3}).data["name"] == "oak desk"


def test_http_post_with_header_and_body(shop):
    _, tools = shop
    result = Executor().execute(tools["create_order"], {"X-Customer": "ann", "item_id": 2,
                                                        "quantity": 3})
    assert not result.is_error
    assert result.data["customer"] == "ann" and result.data["quantity"] == 3


def test_http_error_status_becomes_tool_error(shop):
    _, tools = shop
    result = Executor().execute(tools["get_item"], {"item_id": 99})
    assert result.is_error and "HTTP 404" in result.content and "no item 99" in result.content


def test_http_unreachable_becomes_tool_error(shop):
    _, tools = shop
    dead = Tool(name="dead", binding={**tools["get_item"].binding,
                                      "base_url": "http://127.0.0.1:9"})
    assert Executor(timeout_seconds=2).execute(dead, {"item_id": 1}).is_error


def test_mcp_call_over_stdio(calc_tools):
    with Executor() as executor:
        result = executor.execute(calc_tools["calc__multiply"], {"a": 6, "b": 7})
        assert not result.is_error
        assert "42" in result.content
        # One server process answers both calls: the session is reused.
        counts = [executor.execute(calc_tools["calc__calls_served"], {}).content
                  for _ in range(2)]
    assert counts == ['{"result": 1}', '{"result": 2}']
    with Executor() as fresh:  # a new executor starts its own server
        assert fresh.execute(calc_tools["calc__calls_served"], {}).data == {"result": 1}


def test_mcp_server_that_cannot_start_is_a_tool_error(calc_tools):
    broken = Tool(name="gone", binding={**calc_tools["calc__multiply"].binding,
                                        "config": {"command": "/nonexistent/server"}})
    with Executor(timeout_seconds=10) as executor:
        result = executor.execute(broken, {"a": 1, "b": 2})
    assert result.is_error and result.seconds < 10


def test_mcp_error_result_becomes_tool_error(calc_tools):
    result = Executor().execute(calc_tools["calc__refuse"], {"reason": "no way"})
    assert result.is_error and "refused: no way" in result.content


def test_bad_limits():
    with pytest.raises(ConfigError):
        Executor(timeout_seconds=0)


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


def test_mcp_over_streamable_http():
    from tests.sources.services import start_mcp_http

    process, url = start_mcp_http()
    try:
        tools = {tool.name: tool for tool in
                 tools_from_mcp_config({"mcpServers": {"web": {"url": url}}})}
        assert tools["web__shout"].binding["config"] == {"url": url}
        result = Executor().execute(tools["web__shout"], {"text": "hi"})
        assert not result.is_error and "HI" in result.content
    finally:
        process.kill()
        process.wait()


def test_http_reading_stops_at_the_output_limit():
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
        result = Executor(timeout_seconds=5, max_output_chars=1000).execute(tool, {})
    finally:
        server.shutdown()
        server.server_close()
    assert not result.is_error and result.truncated and result.seconds < 3
    assert result.content.startswith("x" * 1000) and "limit 1000" in result.content
