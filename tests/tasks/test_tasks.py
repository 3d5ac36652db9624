"""Tasks end to end in one process: a DBOS worker on SQLite, agents, a fake LLM over HTTP."""

from __future__ import annotations

import asyncio
import time

import anyio
import pytest

from tests.tasks.harness import (
    keep_calling,
    make_worker,
    open_catalog,
    profiles_for,
    record_then_answer,
)
from toolnav.errors import TaskError, TaskNotFound
from toolnav.tasks import FINISHED, DBOSTaskStore, sqlite_url
from toolnav.testing import FakeLLM

pytestmark = [pytest.mark.timeout(90), pytest.mark.anyio]


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    folder = tmp_path / "ledger"
    folder.mkdir()
    monkeypatch.setenv("TOOLNAV_TEST_COUNT_DIR", str(folder))
    return folder


@pytest.fixture
def catalog(tmp_path):
    with open_catalog(tmp_path / "home") as opened:
        yield opened


@pytest.fixture
async def executor(catalog):
    async with catalog.executor() as opened:
        yield opened


async def _wait(store, task_id, until=FINISHED, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        info = await store.get(task_id)
        if info.status in until:
            return info
        assert time.monotonic() < deadline, f"task still {info.status} after {timeout} s"
        await anyio.sleep(0.05)


@pytest.fixture(scope="module")
def postgres_url():
    from tests.tasks.postgres import postgres_cluster

    with postgres_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    """The same tests on both system databases: SQLite in the home, Postgres by URL."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return request.getfixturevalue("postgres_url")


async def test_submit_poll_result(database_url, catalog, executor, ledger):
    with FakeLLM(respond=record_then_answer) as llm:
        async with make_worker(catalog, executor, database_url,
                               profiles_for(llm.base_url)) as worker:
            store = worker.store
            task_id = await store.submit("buy milk", metadata={"ticket": 7})
            info = await _wait(store, task_id)
            listed = [info for info in await store.list() if info.task == "buy milk"]
            purged = await store.purge(0)  # the Postgres database is shared by the module
    assert info.status == "completed" and info.agent == "agent-1"
    assert info.task == "buy milk" and info.metadata == {"ticket": 7}
    assert info.result["status"] == "answered"
    assert info.result["answer"] == "done: recorded buy milk"
    kinds = [step["kind"] for step in info.steps]
    assert kinds == ["llm", "validation", "execution", "llm"]
    assert info.steps[2]["tool"] == "record_call" and not info.steps[2]["is_error"]
    # The tool got the idempotency key derived from the task id and the step number.
    key, label = (ledger / "effects.log").read_text().split("\t")
    assert key.startswith(f"{task_id}:") and label == "buy milk\n"
    assert [task.id for task in listed] == [task_id] and listed[0].steps == []
    assert purged >= 1


async def test_validation_errors_and_repairs_are_in_the_steps(tmp_path, catalog, executor,
                                                              ledger):
    from toolnav.testing import text, tool_call

    script = [tool_call("add_numbers", {"a": "x"}), tool_call("add_numbers", {"a": 1, "b": 2}),
              text("3")]
    with FakeLLM(script) as llm:
        async with make_worker(catalog, executor, sqlite_url(tmp_path),
                               profiles_for(llm.base_url)) as worker:
            info = await _wait(worker.store, await worker.store.submit("add 1 and 2"))
    assert info.status == "completed" and info.repairs == 1
    rejected = [step for step in info.steps if step["kind"] == "validation" and not step["ok"]]
    assert rejected[0]["tool"] == "add_numbers"
    assert {issue["path"] for issue in rejected[0]["issues"]} == {"a", "b"}
    assert info.result["calls"][0]["result"]["content"] == "3"


async def test_cancel_stops_within_one_step(database_url, catalog, executor, ledger):
    with FakeLLM(respond=keep_calling, delay_seconds=0.5) as llm:
        async with make_worker(catalog, executor, database_url,
                               profiles_for(llm.base_url, max_steps=50)) as worker:
            store = worker.store
            task_id = await store.submit("loop forever")
            await _wait(store, task_id, until={"working"})
            while not (await store.get(task_id)).steps:  # at least one turn done
                await anyio.sleep(0.05)
            cancelled_at = time.monotonic()
            info = await store.cancel(task_id)
            assert info.status == "cancelled"
            seen = len(llm.requests)
            await anyio.sleep(1.5)  # three more turns' worth of time
            with pytest.raises(TaskError, match="already finished \\(cancelled\\)"):
                await store.cancel(task_id)
            final = await store.get(task_id)
    assert final.status == "cancelled"
    assert len(llm.requests) <= seen + 1, "the task kept calling the model after cancel"
    assert time.monotonic() - cancelled_at < 5


async def test_two_profiles_run_concurrently_each_within_its_limit(tmp_path, catalog, executor,
                                                                  ledger):
    stamps = []

    def timed(body):
        stamps.append((body["messages"][1]["content"], time.monotonic()))
        return record_then_answer(body)

    with FakeLLM(respond=timed, delay_seconds=0.4) as llm:
        async with make_worker(catalog, executor, sqlite_url(tmp_path),
                               profiles_for(llm.base_url, concurrency=1)) as worker:
            store = worker.store
            ids = [await store.submit("one", agent="agent-1"),
                   await store.submit("two", agent="agent-2"),
                   await store.submit("three", agent="agent-1")]
            results = [await _wait(store, task_id) for task_id in ids]
    assert [info.status for info in results] == ["completed"] * 3
    spans = {task: (min(t for name, t in stamps if name == task),
                    max(t for name, t in stamps if name == task)) for task, _ in stamps}
    one, two, three = spans["one"], spans["two"], spans["three"]
    assert two[0] < one[1] and one[0] < two[1], f"the agents ran one after the other: {spans}"
    # agent-1 has concurrency 1: its second task starts only after its first ended.
    assert one[1] < three[0] or three[1] < one[0], f"agent-1 ran two tasks at once: {spans}"


async def test_bad_input_is_refused_precisely(tmp_path, catalog, executor, ledger):
    with FakeLLM(respond=record_then_answer) as llm:
        async with make_worker(catalog, executor, sqlite_url(tmp_path),
                               profiles_for(llm.base_url)) as worker:
            store = worker.store
            with pytest.raises(TaskError, match="unknown agent 'agent-9'; agents: agent-1, "):
                await store.submit("x", agent="agent-9")
            with pytest.raises(TaskError, match="task text is empty"):
                await store.submit("   ")
            with pytest.raises(TaskError, match="10,000,000 characters; the limit is 100,000"):
                await store.submit("x" * 10_000_000)
            with pytest.raises(TaskError, match="metadata must be a JSON object"):
                await store.submit("x", metadata=["no"])
            with pytest.raises(TaskNotFound, match="no task with id 'nope'"):
                await store.get("nope")
            with pytest.raises(TaskNotFound):
                await store.cancel("nope")
            with pytest.raises(TaskError, match="unknown status 'done'"):
                await store.list(status="done")
            assert await store.list() == []  # nothing was stored by the refused submits
            task_id = await store.submit("fine")
            await _wait(store, task_id)
            with pytest.raises(TaskError, match=f"task {task_id} already finished \\(completed"):
                await store.cancel(task_id)
            assert [t.id for t in await store.list(status="completed", agent="agent-1")] == \
                [task_id]
            assert await store.list(agent="agent-2") == []


async def test_llm_endpoint_down_fails_with_the_reason(tmp_path, catalog, executor, ledger):
    profiles = profiles_for("http://127.0.0.1:9/v1", max_retries=1)
    async with make_worker(catalog, executor, sqlite_url(tmp_path), profiles) as worker:
        info = await _wait(worker.store, await worker.store.submit("anything"))
    assert info.status == "failed"
    assert "LLMError" in info.error and "unreachable after 2 attempts" in info.error
    assert info.result is None
    # The loop DBOS ran on still runs blocking calls in threads after the worker closed.
    assert await asyncio.to_thread(lambda: 42) == 42


async def test_finished_tasks_are_purged_after_their_ttl(tmp_path, catalog, executor, ledger):
    with FakeLLM(respond=record_then_answer) as llm:
        async with make_worker(catalog, executor, sqlite_url(tmp_path),
                               profiles_for(llm.base_url), retention_seconds=1.0,
                               purge_interval_seconds=0.2) as worker:
            store = worker.store
            task_id = await store.submit("short-lived")
            await _wait(store, task_id)
            assert (await store.get(task_id)).status == "completed"  # kept within the TTL
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    await store.get(task_id)
                except TaskNotFound as error:
                    assert "purged" in str(error)
                    break
                await anyio.sleep(0.1)
            else:
                pytest.fail("the finished task was not purged")


async def test_list_reads_past_its_first_page_for_the_tasks_a_filter_keeps(tmp_path):
    async with DBOSTaskStore(sqlite_url(tmp_path), agents=["agent-1"]) as store:
        for n in range(7):
            await store.submit(f"task {n}", metadata={"n": n})
        kept = await store.list(limit=2, where=lambda info: info.metadata["n"] % 3 == 0)
        assert [info.metadata["n"] for info in kept] == [6, 3]  # newest first, past page one
        assert len(await store.list(limit=5, where=lambda info: True)) == 5
        assert await store.list(limit=3, where=lambda info: False) == []
