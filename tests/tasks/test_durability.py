"""Durability: N tasks queued or running, the worker process killed with SIGKILL, restarted.

Every task must end completed, or failed with a reason; none may be lost; and the counting
tool's ledger must show each call's side effect exactly once, although a call interrupted
after its effect (the kill) is run again with the same idempotency key.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from tests.tasks.harness import (
    check_each_effect_once,
    open_catalog,
    record_then_answer,
    wait_until_finished,
)
from toolnav.tasks import DBOSTaskStore, sqlite_url
from toolnav.testing import FakeLLM

REPO = Path(__file__).resolve().parents[2]
TASKS = int(os.environ.get("TOOLNAV_DURABILITY_TASKS", "100"))

pytestmark = [pytest.mark.timeout(180), pytest.mark.anyio]


def _start_worker(home: Path, database: str, llm: str, ledger: Path) -> subprocess.Popen:
    env = {**os.environ, "TOOLNAV_TEST_COUNT_DIR": str(ledger),
           "TOOLNAV_TEST_TOOL_SECONDS": "0.2",
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.tasks.harness", "--home", str(home), "--database",
         database, "--llm", llm, "--concurrency", "8"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()  # blocks until ready (or the process died)
    assert json.loads(line or "{}").get("ready"), process.stderr.read()
    return process


async def test_sigkill_mid_run_loses_nothing_and_repeats_no_effect(tmp_path):
    home, ledger = tmp_path / "home", tmp_path / "ledger"
    ledger.mkdir()
    open_catalog(home).close()  # index once, before the worker processes start
    database = sqlite_url(tmp_path)
    with FakeLLM(respond=record_then_answer, delay_seconds=0.2) as llm:
        worker = _start_worker(home, database, llm.base_url, ledger)
        try:
            async with DBOSTaskStore(database, ["agent-1", "agent-2"]) as store:
                ids = [await store.submit(f"task {n}", agent=f"agent-{1 + n % 2}")
                       for n in range(TASKS)]
                while len(await store.list(status="completed", limit=TASKS)) < TASKS // 5:
                    await anyio.sleep(0.05)
                in_flight = len(await store.list(status="working", limit=TASKS))
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
                killed_at = time.monotonic()
                worker = _start_worker(home, database, llm.base_url, ledger)
                await wait_until_finished(store, TASKS, 120)
                recovery_seconds = time.monotonic() - killed_at
                infos = [await store.get(task_id) for task_id in ids]
        finally:
            worker.kill()
            worker.wait(10)

    assert in_flight > 0, "the kill found no task running; the test proved nothing"
    completed, failed, retried = check_each_effect_once(infos, ledger)
    print(f"\n{TASKS} tasks: {len(completed)} completed, {len(failed)} failed; "
          f"{in_flight} running at the kill; {retried} interrupted tool call(s) retried with "
          f"their key; all finished {recovery_seconds:.1f} s after the kill")
