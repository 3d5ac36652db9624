"""Token files, the constant-time verifier, and JSON-lines logs without secrets."""

from __future__ import annotations

import json
import logging

import pytest

from tests.server.conftest import ALICE, ROOT, TOKENS
from toolnav.errors import ConfigError
from toolnav.server.auth import StaticTokenVerifier, load_tokens
from toolnav.server.logs import JSONLinesFormatter

pytestmark = pytest.mark.timeout(30)


def test_json_and_toml_token_files_load_the_same_grants(tmp_path, token_file):
    toml = tmp_path / "tokens.toml"
    toml.write_text("".join(
        f'[[tokens]]\nname = "{entry["name"]}"\ntoken = "{entry["token"]}"\n'
        f'namespaces = {json.dumps(entry["namespaces"])}\n' for entry in TOKENS["tokens"]))
    assert load_tokens(toml) == load_tokens(token_file)
    assert ALICE not in repr(load_tokens(toml))  # only a digest is kept, and not shown


@pytest.mark.parametrize(("content", "message"), [
    ("{", "not valid JSON"),
    ('{"tokens": []}', "non-empty \"tokens\" list"),
    ('{"tokens": [{"name": "a", "token": "short", "namespaces": ["x"]}]}', "at least 16"),
    ('{"tokens": [{"name": "a", "token": "0123456789abcdefgh", "namespaces": []}]}',
     "non-empty list"),
    ('{"tokens": [{"name": "a", "token": "0123456789abcdefgh", "namespaces": ["x"]},'
     ' {"name": "a", "token": "0123456789abcdefgX", "namespaces": ["x"]}]}', "unique"),
])
def test_bad_token_files_are_refused_with_the_reason(tmp_path, content, message):
    path = tmp_path / "tokens.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_tokens(path)


@pytest.mark.anyio
async def test_verifier_grants_scopes_and_refuses_other_tokens(token_file, anyio_backend):
    verifier = StaticTokenVerifier(load_tokens(token_file), resource="http://127.0.0.1:1/mcp")
    alice = await verifier.verify_token(ALICE)
    assert alice.client_id == "alice" and alice.scopes == ["calc"]
    assert alice.resource == "http://127.0.0.1:1/mcp"
    assert (await verifier.verify_token(ROOT)).scopes == ["*"]
    assert await verifier.verify_token(ALICE[:-1]) is None
    assert await verifier.verify_token("") is None
    assert ALICE not in repr(verifier)


def test_log_lines_are_json_and_drop_secret_fields():
    record = logging.makeLogRecord({"msg": "tool call", "levelname": "INFO", "name": "x",
                                    "event": "call", "tool": "add", "seconds": 0.5,
                                    "token": ROOT, "headers": {"Authorization": ROOT}})
    line = JSONLinesFormatter().format(record)
    data = json.loads(line)
    assert data["event"] == "call" and data["tool"] == "add" and data["seconds"] == 0.5
    assert data["time"].endswith("Z") and data["level"] == "info"
    assert ROOT not in line
