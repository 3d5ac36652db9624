"""`toolnav task ...` against the home's task database, in real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(180)


def _toolnav(home: Path, *args: str, check_exit: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    process = subprocess.run([sys.executable, "-m", "toolnav", "--home", str(home), *args],
                             capture_output=True, text=True, timeout=60, env=env)
    assert process.returncode == check_exit, process.stdout + process.stderr
    assert "Traceback" not in process.stderr
    return process


def test_submit_get_list_cancel(tmp_path):
    agents = REPO / "examples" / "agents.toml"
    task_id = _toolnav(tmp_path, "task", "submit", "add 2 and 3", "--agent", "agent-2",
                       "--metadata", '{"ticket": 1}', "--agents", str(agents)).stdout.strip()
    shown = json.loads(_toolnav(tmp_path, "task", "get", task_id, "--agents", str(agents)).stdout)
    assert shown["status"] == "queued" and shown["agent"] == "agent-2"
    assert shown["metadata"] == {"ticket": 1}
    assert "cancelled" in _toolnav(tmp_path, "task", "cancel", task_id, "--agents",
                                   str(agents)).stdout
    again = _toolnav(tmp_path, "task", "cancel", task_id, "--agents", str(agents), check_exit=1)
    assert "already finished (cancelled)" in again.stderr
    listed = _toolnav(tmp_path, "task", "list", "--status", "cancelled").stdout
    assert task_id in listed and "agent-2" in listed


def test_a_worker_runs_a_submitted_task_to_its_result(tmp_path):
    import time

    from toolnav.testing import FakeLLM, text, tool_call

    home = tmp_path / "home"
    _toolnav(home, "add", str(REPO / "examples" / "python_tools.py"))
    script = [tool_call("add_numbers", {"a": 2, "b": 40}), text("42")]
    with FakeLLM(script) as llm:
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"),
               "TOOLNAV_LLM_BASE_URL": llm.base_url, "TOOLNAV_LLM_MODEL": "fake"}
        worker = subprocess.Popen([sys.executable, "-m", "toolnav", "--home", str(home), "task",
                                   "work"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            task_id = _toolnav(home, "task", "submit", "add 2 and 40").stdout.strip()
            deadline = time.monotonic() + 120
            while True:
                shown = json.loads(_toolnav(home, "task", "get", task_id).stdout)
                if shown["status"] not in ("queued", "working"):
                    break
                assert worker.poll() is None, worker.communicate()[1][-2000:]
                assert time.monotonic() < deadline, shown
                time.sleep(0.5)
        finally:
            worker.terminate()
            _, errors = worker.communicate(timeout=30)
    assert shown["status"] == "completed", shown
    assert "42" in json.dumps(shown["result"])
    assert "Traceback" not in errors
