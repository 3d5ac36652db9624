"""Searches in child processes (`toolnav.server.search_processes`), real processes over a home
indexed with the real model: same answers as the runtime's own router, router errors arrive
as themselves, a catalog change reaches the child, a child killed with SIGKILL is replaced
while the gateway keeps answering in-process, and the children of a `toolnav serve` that is
killed with SIGKILL exit by themselves; a child that cannot open its home fails the start with
its own error, and one that fails unexpectedly with one line (its traceback goes to a JSON log
line). Readiness, metrics and `RuntimeBackend.search_state` report the children."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import anyio
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.server.conftest import (
    fill_catalog,
    free_port,
    subprocess_env,
    toolnav_command,
    wait_for_health,
)
from tests.sources.services import REPO_ROOT
from toolnav.config import Settings
from toolnav.errors import ConfigError, EmptyCatalog, ToolnavError
from toolnav.route import ToolFilter
from toolnav.runtime import Toolnav
from toolnav.server.backend import SearchState
from toolnav.server.runtime_backend import RuntimeBackend
from toolnav.server.search_processes import SearchProcesses, SearchUnavailable

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(240)]

QUERIES = ("multiply two numbers", "what is the weather in Paris", "add 2 and 3")
NEW_TOOL = '''
def lighthouse_keeper_roster(harbour: str) -> str:
    """List the lighthouse keepers on duty at a harbour tonight."""
    return harbour
'''


@pytest.fixture
def home(tmp_path, real_embedder):
    with Toolnav.open(tmp_path / "home", embedder=real_embedder) as toolnav:
        fill_catalog(toolnav.catalog, tmp_path)
        toolnav.index()
    return tmp_path / "home"


def names(candidates) -> list[str]:
    return [candidate.tool.name for candidate in candidates]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_children_answer_as_the_runtime_does_and_see_catalog_changes(home, tmp_path):
    with Toolnav.open(home) as toolnav:
        router = toolnav.router()
        expected = {query: router.route(query, k=3).candidates for query in QUERIES}
        async with SearchProcesses(toolnav.settings, toolnav.settings.route, 2) as searchers:
            assert len(searchers.pids) == 2 and os.getpid() not in searchers.pids
            async with anyio.create_task_group() as group:  # several in flight at once
                found: dict[str, list] = {}

                async def search(query: str) -> None:
                    found[query] = await searchers.search(query, 3, ToolFilter())

                for query in QUERIES * 3:
                    group.start_soon(search, query)
            for query in QUERIES:
                assert names(found[query]) == names(expected[query])
                assert [round(c.score, 5) for c in found[query]] == [
                    round(c.score, 5) for c in expected[query]]
            only_calc = await searchers.search(QUERIES[0], 3,
                                               ToolFilter(namespaces=frozenset({"calc"})))
            assert only_calc and {c.tool.namespace for c in only_calc} == {"calc"}
            with pytest.raises(ConfigError, match="k must be at least 1"):
                await searchers.search(QUERIES[0], 0, ToolFilter())

            source = tmp_path / "lighthouse.py"
            source.write_text(NEW_TOOL)
            toolnav.catalog.add_source(source)  # as the server's sync would
            fresh = await searchers.search("who keeps the lighthouse at the harbour", 1,
                                           ToolFilter())
            assert names(fresh) == ["lighthouse_keeper_roster"]
        pids = searchers.pids
    assert pids == []


async def test_a_killed_child_is_replaced_and_searches_go_on_meanwhile(home):
    with Toolnav.open(home) as toolnav:
        async with RuntimeBackend(toolnav, search_processes=1) as backend:
            searchers = backend.search_processes
            assert searchers is not None
            [first] = searchers.pids
            before = names(await backend.search(QUERIES[0], 3))
            assert backend.search_state() == SearchState(processes=1, running=1)
            os.kill(first, signal.SIGKILL)
            # The search that meets the dead child, and those while a new one loads, are
            # answered in this process.
            assert names(await backend.search(QUERIES[0], 3)) == before
            with anyio.fail_after(120):
                while not searchers.pids or searchers.pids == [first]:
                    assert names(await backend.search(QUERIES[0], 3)) == before
                    await anyio.sleep(0.2)
            [second] = searchers.pids
            assert second != first and not alive(first)
            assert names(await searchers.search(QUERIES[0], 3, ToolFilter())) == before
            state = backend.search_state()
            assert (state.processes, state.running, state.restarts) == (1, 1, 1)
            assert state.fallbacks >= 1
        assert not alive(second)


async def test_search_unavailable_when_no_child_runs(home):
    with Toolnav.open(home) as toolnav:
        searchers = SearchProcesses(toolnav.settings, toolnav.settings.route)
        with pytest.raises(SearchUnavailable):
            await searchers.search(QUERIES[0], 3, ToolFilter())


def test_search_children_exit_when_the_server_is_killed(home):
    port = free_port()
    log = (home.parent / "serve.log").open("w")
    server = subprocess.Popen(toolnav_command(home, "serve", "--http", f"127.0.0.1:{port}",
                                              "--no-tasks", "--search-processes", "1"),
                              stdout=log, stderr=subprocess.STDOUT, env=subprocess_env(),
                              cwd=REPO_ROOT)
    try:
        wait_for_health(f"http://127.0.0.1:{port}", server, 180, home.parent / "serve.log")
        with open(f"/proc/{server.pid}/task/{server.pid}/children") as listing:
            children = [int(pid) for pid in listing.read().split()]
        assert children, "toolnav serve --search-processes 1 started no child"
        readiness = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json()
        assert readiness["search"] == {"processes": 1, "running": 1, "restarts": 0,
                                       "fallbacks": 0}
        metrics = {sample.name: sample.value for family in text_string_to_metric_families(
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
            for sample in family.samples}
        assert metrics["toolnav_search_processes"] == metrics[
            "toolnav_search_processes_running"] == 1
        assert metrics["toolnav_search_process_restarts_total"] == 0
        server.kill()
        server.wait(10)
        deadline = time.monotonic() + 20
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in children)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()


async def test_a_child_that_cannot_open_the_home_says_why(tmp_path):
    settings = Settings(home=tmp_path / "empty-home")
    with pytest.raises(EmptyCatalog, match="the catalog is empty"):  # itself, not in a group
        async with SearchProcesses(settings, settings.route, 2):
            pass


async def test_a_child_that_fails_unexpectedly_says_why_in_one_line(home, tmp_path, monkeypatch,
                                                                    capfd):
    # A fault injected into the child process only: its interpreter imports this
    # sitecustomize at start, which makes opening a home raise what no caller expects.
    injected = tmp_path / "inject"
    injected.mkdir()
    (injected / "sitecustomize.py").write_text(
        "from toolnav.runtime import Toolnav\n"
        "def broken(*args, **kwargs):\n"
        "    raise RuntimeError('injected fault')\n"
        "Toolnav.open = broken\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(injected), str(REPO_ROOT / "src"),
                                                      os.environ.get("PYTHONPATH", "")]))
    settings = Settings(home=home)
    with pytest.raises(ToolnavError) as caught:
        async with SearchProcesses(settings, settings.route, 1):
            pass
    assert str(caught.value) == ("a search process could not open the home: RuntimeError: "
                                 "injected fault")
    # The traceback is in one JSON log line, never printed raw.
    stderr = capfd.readouterr().err
    assert "injected fault" in stderr
    for line in stderr.splitlines():
        if "Traceback" in line:
            record = json.loads(line)
            assert record["event"] == "search_process_failed" and record["level"] == "error"
