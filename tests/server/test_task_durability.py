"""Durability of tasks through the server: 100 agent tasks queued or running in `toolnav
serve`, the server killed with SIGKILL and started again. Every task must end completed, or
failed with a reason; none may be lost; the counting tool's ledger must show each call's side
effect once (a call interrupted by the kill is run again with the same idempotency key)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import anyio
import pytest

from tests.server.conftest import (
    free_port,
    mcp_http_client,
    subprocess_env,
    toolnav_command,
    wait_for_health,
)
from tests.server.tasks_support import agents_file, build_task_home
from tests.sources.services import REPO_ROOT
from tests.tasks.harness import check_each_effect_once, record_then_answer, wait_until_finished
from toolnav.tasks import DBOSTaskStore
from toolnav.testing import FakeLLM

TASKS = int(os.environ.get("TOOLNAV_DURABILITY_TASKS", "100"))

pytestmark = [pytest.mark.timeout(300), pytest.mark.anyio]


def _serve(home: Path, port: int, args: list[str], ledger: Path, log: Path
           ) -> subprocess.Popen:
    env = {**subprocess_env(), "TOOLNAV_TEST_COUNT_DIR": str(ledger),
           "TOOLNAV_TEST_TOOL_SECONDS": "0.2"}
    process = subprocess.Popen(toolnav_command(home, "serve", "--http", f"127.0.0.1:{port}",
                                               *args),
                               stdout=log.open("a"), stderr=subprocess.STDOUT, env=env,
                               cwd=REPO_ROOT)
    wait_for_health(f"http://127.0.0.1:{port}", process, 120, log)
    return process


async def test_server_sigkill_mid_run_loses_nothing_and_repeats_no_effect(
        tmp_path, real_embedder):
    home = build_task_home(tmp_path, real_embedder)
    ledger, log = tmp_path / "ledger", tmp_path / "serve.log"
    ledger.mkdir()
    database = f"sqlite:///{tmp_path / 'tasks.sqlite'}"
    port = free_port()
    with FakeLLM(respond=record_then_answer, delay_seconds=0.2) as llm:
        args = ["--agents", str(agents_file(tmp_path, llm.base_url, concurrency=8)),
                "--tasks-db", database]
        server = _serve(home, port, args, ledger, log)
        try:
            async with mcp_http_client(f"http://127.0.0.1:{port}") as client:
                ids = [(await client.call_tool("submit_task", {
                    "task": f"task {n}", "agent": f"agent-{1 + n % 2}"})
                        ).structured_content["id"] for n in range(TASKS)]
            async with DBOSTaskStore(database, ["agent-1", "agent-2"]) as store:
                while len(await store.list(status="completed", limit=TASKS)) < TASKS // 5:
                    await anyio.sleep(0.05)
                in_flight = len(await store.list(status="working", limit=TASKS))
                server.send_signal(signal.SIGKILL)
                server.wait(10)
                killed_at = time.monotonic()
                server = _serve(home, port, args, ledger, log)
                await wait_until_finished(store, TASKS, 150)
                recovery_seconds = time.monotonic() - killed_at
                infos = [await store.get(task_id) for task_id in ids]
        finally:
            server.kill()
            server.wait(10)

    assert in_flight > 0, "the kill found no task running; the test proved nothing"
    assert len(infos) == TASKS and len({info.id for info in infos}) == TASKS  # none lost
    completed, failed, retried = check_each_effect_once(infos, ledger)
    print(f"\n{TASKS} tasks through toolnav serve: {len(completed)} completed, {len(failed)} "
          f"failed; {in_flight} running at the SIGKILL; {retried} interrupted tool call(s) "
          f"retried with their key; all finished {recovery_seconds:.1f} s after the kill")
