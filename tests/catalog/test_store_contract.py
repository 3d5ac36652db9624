"""Every CatalogStore backend passes the same contract (SQLite now; Postgres joins this list)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import make_tool
from toolnav.catalog import CatalogStore, SQLiteCatalogStore
from toolnav.errors import CatalogError

BACKENDS = {"sqlite": lambda tmp_path: SQLiteCatalogStore(tmp_path / "catalog.db")}
SERVER = {"command": "python", "args": ["server.py"], "env": {"API_KEY": "s3cret"}}


@pytest.fixture(params=sorted(BACKENDS))
def store(request, tmp_path):
    opened = BACKENDS[request.param](tmp_path)
    yield opened
    opened.close()


def mcp_tool(server: str, name: str):
    import dataclasses

    return dataclasses.replace(make_tool(f"{server}__{name}", f"{name} on {server}"),
                               group=server,
                               binding={"kind": "mcp", "server": server, "tool": name})


def test_backends_implement_the_protocol(store):
    assert isinstance(store, CatalogStore)


def test_replace_source_adds_updates_removes_and_bumps_the_version(store):
    assert store.version == 0 and store.count() == 0
    change = store.replace_source("a", [make_tool("one"), make_tool("two")])
    assert (change.added, store.count(), store.version) == (["one", "two"], 2, 1)
    same = store.replace_source("a", [make_tool("one"), make_tool("two")])
    assert same.unchanged == 2 and store.version == 1          # no change, no bump
    change = store.replace_source("a", [make_tool("one", "now described"), make_tool("three")])
    assert (change.updated, change.added, change.removed) == (["one"], ["three"], ["two"])
    assert store.version == 2
    assert [entry.tool.name for entry in store.entries()] == ["one", "three"]
    assert store.get("one").tool.description == "now described" and store.get("two") is None


def test_a_clashing_name_is_namespaced_by_source(store):
    store.replace_source("a", [make_tool("dup")])
    change = store.replace_source("b", [make_tool("dup")])
    assert change.renamed == {"dup": "b__dup"}
    entry = store.get("b__dup")
    assert entry.original_name == "dup" and entry.tool.source == "b"
    assert store.sources() == {"a": 1, "b": 1}


def test_server_configs_are_stored_once_by_name_and_owned_by_one_source(store):
    store.replace_source("servers", [mcp_tool("calc", "add")], servers={"calc": SERVER})
    assert store.server_config("calc") == SERVER
    assert store.server_names() == {"calc": "servers"}
    assert "s3cret" not in json.dumps(store.get("calc__add").tool.to_dict())
    with pytest.raises(CatalogError, match="'calc' is already defined by source 'servers'"):
        store.replace_source("other", [], servers={"calc": SERVER})
    store.replace_source("servers", [])                       # the file no longer has it
    assert store.server_config("calc") is None and store.server_names() == {}


def test_remove_and_feedback(store):
    store.replace_source("a", [make_tool("one"), make_tool("two")])
    version = store.version
    assert store.remove(["one", "nope"]) == 1 and store.version == version + 1
    assert store.remove(["nope"]) == 0 and store.version == version + 1
    seen = store.feedback_version
    assert store.record_outcome("two", False, 0.5) == (0.5, 1)
    assert store.record_outcome("two", True, 0.5) == (0.75, 2)
    assert store.feedback() == {"two": (0.75, 2)} and store.feedback_version == seen + 2
    with pytest.raises(CatalogError, match="alpha"):
        store.record_outcome("two", True, 0.0)


def test_a_failed_replace_changes_nothing(store):
    store.replace_source("a", [make_tool("x")])
    store.replace_source("b", [make_tool("a__y")])
    store.replace_source("c", [make_tool("y")])
    before = (store.version, [entry.tool.name for entry in store.entries()])
    with pytest.raises(CatalogError, match="both 'y' and 'a__y' are taken"):
        store.replace_source("a", [make_tool("x", "changed"), make_tool("y")])
    assert (store.version, [entry.tool.name for entry in store.entries()]) == before
    assert store.get("x").tool.description == ""


def test_a_schema_1_home_is_migrated_and_its_secrets_leave_the_tool_records(tmp_path):
    path = tmp_path / "catalog.db"
    SQLiteCatalogStore(path).close()
    old = mcp_tool("calc", "add").to_dict()
    old["binding"]["config"] = SERVER                          # how schema 1 stored it
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.execute("INSERT INTO tools (name, original_name, source, data, content_hash, updated_at)"
               " VALUES ('calc__add', 'calc__add', 'servers', ?, 'old', 0)", (json.dumps(old),))
    db.commit()
    db.close()
    with SQLiteCatalogStore(path) as store:
        assert store.server_config("calc") == SERVER
        binding = store.get("calc__add").tool.binding
        assert binding == {"kind": "mcp", "server": "calc", "tool": "add"}
    assert b"s3cret" not in b"".join(
        row[0].encode() for row in sqlite3.connect(path).execute("SELECT data FROM tools"))


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "catalog.db"
    SQLiteCatalogStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(CatalogError, match="written by a newer toolnav"):
        SQLiteCatalogStore(path)


def test_a_source_digest_holds_only_while_the_source_s_tools_are_untouched(store):
    store.replace_source("a", [make_tool("one"), make_tool("two")], digest="d1")
    store.replace_source("b", [make_tool("three")], digest="d2")
    assert (store.source_digest("a"), store.source_digest("b")) == ("d1", "d2")
    assert store.source_digest("nothing") is None
    store.remove(["two"])                                       # a change by another path
    assert store.source_digest("a") is None
    assert store.source_digest("b") == "d2"
    store.replace_source("b", [make_tool("three")])             # replaced without a digest
    assert store.source_digest("b") is None


def test_summaries_list_name_source_and_description_in_insertion_order(store):
    store.replace_source("a", [make_tool("one", "first"), make_tool("two", "second")])
    store.replace_source("b", [make_tool("one", "clash")])
    assert store.summaries() == [("one", "a", "first"), ("two", "a", "second"),
                                 ("b__one", "b", "clash")]


def test_routing_rows_read_ids_names_groups_and_a_fingerprint_that_moves_with_the_tools(
        store, tmp_path):
    store.replace_source("a", [make_tool("one"), mcp_tool("srv", "two")])
    rows = store.routing_rows()
    assert (rows.names, rows.groups) == (["one", "srv__two"], ["", "srv"])
    assert [json.loads(record)["name"] for record in store.records(rows.ids[::-1])] == \
        ["srv__two", "one"]
    assert store.routing_rows() == rows  # nothing changed, same fingerprint
    store.replace_source("a", [make_tool("one"), mcp_tool("srv", "two")])  # unchanged tools
    assert store.routing_rows().fingerprint == rows.fingerprint
    store.replace_source("a", [make_tool("one", "new text"), mcp_tool("srv", "two")])
    changed = store.routing_rows()
    assert changed.ids == rows.ids and changed.fingerprint != rows.fingerprint
    store.remove(["one"])
    assert store.records(rows.ids) == [None, store.records(rows.ids[1:])[0]]
    assert store.routing_rows().fingerprint not in (rows.fingerprint, changed.fingerprint)


def test_two_stores_with_the_same_history_have_different_fingerprints(tmp_path):
    first, second = (SQLiteCatalogStore(tmp_path / name) for name in ("a.db", "b.db"))
    for store in (first, second):
        store.replace_source("a", [make_tool("one")])
    assert first.version == second.version
    assert first.routing_rows().fingerprint != second.routing_rows().fingerprint
    reopened = SQLiteCatalogStore(tmp_path / "a.db")
    assert reopened.routing_rows().fingerprint == first.routing_rows().fingerprint
    for store in (first, second, reopened):
        store.close()
