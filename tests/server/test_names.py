"""Namespaced tool names at the gateway: a downstream server name holding the separator ``__``
is refused (by `toolnav add` and by `toolnav serve --config`, before anything starts), and a
name two sources both claim is resolved the same way in every home: the first source added
keeps it, the later one's tool is served as ``SOURCE__NAME``, and both stay reachable."""

from __future__ import annotations

import json
import time

import anyio
import pytest
from mcp import Client

from tests.conftest import run_toolnav
from tests.sources.services import MCP_CONFIG
from toolnav.runtime import Toolnav
from toolnav.server import Gateway
from toolnav.server.runtime_backend import RuntimeBackend

pytestmark = pytest.mark.timeout(120)

REFUSAL = ("error: MCP server name 'my__tools': must be a non-empty string without '__' (it "
           "separates server and tool in tool names); rename the entry")
PYTHON_TOOLS = '''
def calc__multiply(a: float, b: float) -> str:
    """Multiply two numbers (the Python twin of the calc server's multiply)."""
    return "python"
'''


@pytest.fixture
def bad_servers(tmp_path):
    path = tmp_path / "bad.json"
    server = MCP_CONFIG["mcpServers"]["calc"]
    path.write_text(json.dumps({"mcpServers": {"calc": server, "my__tools": server}}))
    return path


def test_add_refuses_a_server_name_with_the_separator(tmp_path, bad_servers):
    done = run_toolnav(tmp_path / "home", "add", str(bad_servers), check_exit=1)
    assert REFUSAL in " ".join(done.stderr.split())
    listed = run_toolnav(tmp_path / "home", "tools", "--json")
    assert json.loads(listed.stdout) == []  # nothing of the file was added, calc included


def test_serve_config_refuses_a_server_name_with_the_separator(tmp_path, bad_servers):
    began = time.monotonic()
    done = run_toolnav(tmp_path / "home", "serve", "--http", "127.0.0.1:1", "--config",
                       str(bad_servers), check_exit=1, timeout=60)
    assert REFUSAL in " ".join(done.stderr.split())
    assert "serving" not in done.stderr and time.monotonic() - began < 60


def add_in_order(toolnav: Toolnav, folder, order: tuple[str, ...]) -> None:
    files = {"python": folder / "twin.py", "servers": folder / "servers.json"}
    files["python"].write_text(PYTHON_TOOLS)
    files["servers"].write_text(json.dumps(MCP_CONFIG))
    for kind in order:
        toolnav.catalog.add_source(files[kind])


async def served_names(toolnav: Toolnav) -> tuple[list[str], dict[str, str]]:
    """Every multiply tool the gateway finds, and what calling each answers."""
    async with RuntimeBackend(toolnav) as backend, \
            Client(Gateway(backend).mcp_server()) as client:
        found = await client.call_tool("search_tools", {"query": "multiply two numbers",
                                                        "k": 10})
        names = sorted(tool["name"] for tool in found.structured_content["tools"]
                       if tool["name"].endswith("multiply"))
        answers = {}
        for name in names:
            result = await client.call_tool("call_tool", {"name": name,
                                                          "arguments": {"a": 2, "b": 3}})
            assert not result.is_error, result.content
            answers[name] = result.content[0].text
    return names, answers


@pytest.mark.anyio
async def test_a_name_two_sources_claim_is_resolved_deterministically(tmp_path,
                                                                      hashing_embedder):
    results = {}
    for home, order in (("first", ("python", "servers")),
                        ("again", ("python", "servers", "servers", "python")),  # re-added
                        ("reversed", ("servers", "python"))):
        folder = tmp_path / home
        folder.mkdir()
        with Toolnav.open(folder / "home", embedder=hashing_embedder) as toolnav:
            await anyio.to_thread.run_sync(add_in_order, toolnav, folder, order)
            results[home] = await served_names(toolnav)
    assert results["first"] == results["again"] == (
        ["calc__multiply", "servers__calc__multiply"],
        {"calc__multiply": "python", "servers__calc__multiply": '{"result": 6.0}'})
    assert results["reversed"] == (["calc__multiply", "twin__calc__multiply"],
                                   {"calc__multiply": '{"result": 6.0}',
                                    "twin__calc__multiply": "python"})
