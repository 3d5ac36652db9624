"""`toolnav serve` as a real process: the SDK client over stdio and HTTP, MCP Inspector's CLI,
and `toolnav status` against a running server."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from mcp import Client, StdioServerParameters

from tests.server.conftest import (
    ALICE,
    ROOT,
    SRC,
    free_port,
    inspector_command,
    mcp_http_client,
    serve_process,
    subprocess_env,
    toolnav_command,
    wait_for_health,
)
from tests.sources.services import REPO_ROOT

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def http_server(served_home, tmp_path_factory):
    tokens = tmp_path_factory.mktemp("tokens") / "tokens.json"
    from tests.server.conftest import TOKENS

    tokens.write_text(json.dumps(TOKENS))
    with serve_process(served_home, "--tokens", str(tokens), "--expose", "all") as url:
        yield url


def stdio_parameters(home) -> StdioServerParameters:
    command = toolnav_command(home, "serve")
    return StdioServerParameters(command=command[0], args=command[1:], env=subprocess_env(),
                                 cwd=str(REPO_ROOT))


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_sdk_client_over_stdio(served_home, mode, anyio_backend):
    async with Client(stdio_parameters(served_home), mode=mode,
                      read_timeout_seconds=120) as client:
        tools = await client.list_tools()
        found = await client.call_tool("search_tools", {"query": "make text upper case",
                                                        "k": 3})
        called = await client.call_tool("call_tool", {"name": "calc__shout",
                                                      "arguments": {"text": "hi"}})
        invalid = await client.call_tool("call_tool", {"name": "calc__shout",
                                                       "arguments": {"txt": "hi"}})
    assert {tool.name for tool in tools.tools} == {"search_tools", "call_tool",
                                                   "get_tool_schema", "submit_task",
                                                   "get_task", "cancel_task", "list_tasks",
                                                   "respond_task"}
    assert found.structured_content["tools"][0]["name"] == "calc__shout"  # the real model
    assert called.structured_content == {"result": "HI"}
    assert invalid.is_error and "txt: unknown parameter" in invalid.content[0].text


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_sdk_client_over_http(http_server, mode, anyio_backend):
    async with mcp_http_client(http_server, ALICE, mode=mode) as client:
        names, cursor = [], None
        while True:
            page = await client.list_tools(cursor=cursor)
            names += [tool.name for tool in page.tools]
            if not (cursor := page.next_cursor):
                break
        found = await client.call_tool("search_tools", {"query": "multiply two numbers"})
        called = await client.call_tool("calc__multiply", {"a": 2, "b": 21})
    assert "calc__multiply" in names and "add_numbers" not in names  # alice: calc only
    assert found.structured_content["tools"][0]["name"] == "calc__multiply"
    assert called.structured_content == {"result": 42.0}


def run_inspector(node_tools, tmp_path, *args: str) -> subprocess.CompletedProcess:
    # The Inspector gives a stdio server only the variables passed with -e.
    return subprocess.run(inspector_command(node_tools, "-e", f"PYTHONPATH={SRC}", "--cwd",
                                            str(REPO_ROOT), *args, "--format", "json", "-q"),
                          capture_output=True, text=True, timeout=180,
                          env={**subprocess_env(), "HOME": str(tmp_path)}, cwd=REPO_ROOT)


def payload(done: subprocess.CompletedProcess) -> dict:
    return json.loads(done.stdout)["result"]


def test_inspector_lists_and_calls_over_stdio(node_tools, served_home, tmp_path):
    server = toolnav_command(served_home, "serve", "--expose", "all")
    listed = run_inspector(node_tools, tmp_path, *server, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr
    names = {tool["name"] for tool in payload(listed)["tools"]}
    assert {"search_tools", "call_tool", "add_numbers", "calc__multiply"} <= names
    called = run_inspector(node_tools, tmp_path, *server, "--method", "tools/call",
                           "--tool-name", "call_tool", "--tool-args-json",
                           json.dumps({"name": "add_numbers", "arguments": {"a": 2, "b": 40}}))
    assert called.returncode == 0, called.stderr
    assert payload(called)["content"][0]["text"] == "42"


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_inspector_lists_and_calls_over_http(node_tools, http_server, tmp_path, era):
    common = (f"{http_server}/mcp", "--header", f"Authorization: Bearer {ROOT}",
              "--protocol-era", era)
    listed = run_inspector(node_tools, tmp_path, *common, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr
    assert "calc__shout" in {tool["name"] for tool in payload(listed)["tools"]}
    called = run_inspector(node_tools, tmp_path, *common, "--method", "tools/call",
                           "--tool-name", "search_tools", "--tool-arg", "query=shout text",
                           "k=2")
    assert called.returncode == 0, called.stderr
    result = payload(called)
    assert result["structuredContent"]["tools"][0]["name"] == "calc__shout"
    refused = run_inspector(node_tools, tmp_path, f"{http_server}/mcp", "--method",
                            "tools/list")
    assert refused.returncode != 0  # no token


def test_status_reports_a_running_server(http_server):
    done = subprocess.run([sys.executable, "-m", "toolnav", "status", "--url",
                           f"{http_server}/mcp", "--json"], capture_output=True, text=True,
                          timeout=60, env={**subprocess_env(), "TOOLNAV_TOKEN": ROOT})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["healthy"] and report["ready"]
    assert report["downstreams"]["calc"]["tools"] == 4
    assert report["search"] == {"processes": 1, "running": 1, "restarts": 0, "fallbacks": 0}
    assert ROOT not in done.stdout + done.stderr
    printed = subprocess.run([sys.executable, "-m", "toolnav", "status", "--url", http_server],
                             capture_output=True, text=True, timeout=60,
                             env={**subprocess_env(), "TOOLNAV_TOKEN": ROOT})
    assert printed.returncode == 0, printed.stderr
    assert "1 of 1 search processes running, 0 restarts" in " ".join(printed.stdout.split())
    refused = subprocess.run([sys.executable, "-m", "toolnav", "status", "--url", http_server],
                             capture_output=True, text=True, timeout=60,
                             env={k: v for k, v in subprocess_env().items()
                                  if k != "TOOLNAV_TOKEN"})
    assert refused.returncode == 1 and "requires a bearer token" in refused.stderr


def children_of(pid: int) -> list[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                           text=True)
    return [int(line) for line in found.stdout.split()]


def test_sigterm_stops_the_server_and_its_downstream_children(served_home, tmp_path):
    import os
    import signal
    import time

    import anyio

    port = free_port()
    process = subprocess.Popen(toolnav_command(served_home, "serve", "--http",
                                               f"127.0.0.1:{port}"),
                               stdout=(tmp_path / "serve.log").open("w"),
                               stderr=subprocess.STDOUT, env=subprocess_env(), cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process, log=tmp_path / "serve.log")

        async def call() -> None:
            async with mcp_http_client(url) as client:
                result = await client.call_tool("call_tool", {"name": "calc__multiply",
                                                              "arguments": {"a": 2, "b": 3}})
                assert result.structured_content == {"result": 6.0}

        anyio.run(call)
        children = children_of(process.pid)
        assert children, "the calc downstream should be running"
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) is not None
        deadline = time.monotonic() + 10
        while any(os.path.exists(f"/proc/{child}") for child in children):
            assert time.monotonic() < deadline, "a downstream child outlived toolnav"
            time.sleep(0.1)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(("args", "message"), [
    (["--http", "0.0.0.0:9999"], "a non-loopback address needs --tokens"),
    (["--tokens", "tokens.json"], "--tokens applies to --http"),
    (["--http", "127.0.0.1:http"], "expected HOST:PORT"),
    (["--expose", "some"], "choose one of search, all"),
])
def test_unsafe_or_malformed_options_are_refused(tmp_path, args, message):
    done = subprocess.run(toolnav_command(tmp_path / "home", "serve", *args),
                          capture_output=True, text=True, timeout=120, env=subprocess_env(),
                          cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.anyio
async def test_serve_with_config_needs_no_prior_add(tmp_path, anyio_backend):
    from tests.sources.services import MCP_CONFIG

    servers = tmp_path / "servers.json"
    servers.write_text(json.dumps(MCP_CONFIG))
    command = toolnav_command(tmp_path / "empty-home", "serve", "--config", str(servers))
    parameters = StdioServerParameters(command=command[0], args=command[1:],
                                       env=subprocess_env(), cwd=str(REPO_ROOT))
    async with Client(parameters, read_timeout_seconds=180) as client:
        found = await client.call_tool("search_tools", {"query": "multiply two numbers"})
        called = await client.call_tool("call_tool", {"name": "calc__multiply",
                                                      "arguments": {"a": 4, "b": 5}})
    assert found.structured_content["tools"][0]["name"] == "calc__multiply"
    assert called.structured_content == {"result": 20.0}
