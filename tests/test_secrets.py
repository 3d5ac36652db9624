"""A downstream server's secrets live in one record of the store and nowhere else: not in tool
records, `tools --json`, call output, traces, logs or any other file of the home."""

from __future__ import annotations

import json
import secrets
import sqlite3
import sys

import pytest

from tests.conftest import run_toolnav
from tests.fake_llm import FakeLLM, text, tool_call
from tests.sources.services import EXAMPLES


def toolnav(home, *args, env=None):
    process = run_toolnav(home, *args, env=env)
    return process.stdout + process.stderr


@pytest.mark.timeout(600)
def test_a_server_secret_occurs_only_in_its_config_record(tmp_path):
    secret = f"sk-{secrets.token_hex(16)}"
    config = tmp_path / "servers.json"
    config.write_text(json.dumps({"mcpServers": {"calc": {
        "command": sys.executable, "args": [str(EXAMPLES / "mcp_server.py")],
        "env": {"API_KEY": secret}}}}))
    home = tmp_path / "home"
    outputs = [toolnav(home, "add", str(config)), toolnav(home, "index"),
               toolnav(home, "tools", "--json"),
               toolnav(home, "call", "calc__multiply", "--args", '{"a": 6, "b": 7}')]
    script = [tool_call("calc__multiply", {"a": 2, "b": "21"}), text("42")]
    with FakeLLM(script) as llm:
        outputs.append(toolnav(home, "run", "multiply 2 by 21", env={
            "TOOLNAV_LLM_BASE_URL": llm.base_url, "TOOLNAV_LLM_MODEL": "fake"}))
    outputs.append(toolnav(home, "trace"))
    assert "42" in outputs[3] and "answered" in outputs[4]
    for output in outputs:
        assert secret not in output
    database = sqlite3.connect(home / "catalog.db")
    database.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything into the main file
    assert [row[0] for row in database.execute(
        "SELECT name FROM servers WHERE config LIKE ?", (f"%{secret}%",))] == ["calc"]
    assert database.execute("SELECT COUNT(*) FROM tools WHERE data LIKE ? OR "
                            "content_hash LIKE ?", (f"%{secret}%",) * 2).fetchone() == (0,)
    database.close()
    holders = [path.relative_to(home).as_posix() for path in home.rglob("*")
               if path.is_file() and secret.encode() in path.read_bytes()]
    assert holders == ["catalog.db"]
