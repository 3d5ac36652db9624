"""`toolnav task ...` against the home's task database, in real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MOUNTED = "from toolnav.cli.app import app, main; from toolnav.cli.task import task_app; " \
          "app.add_typer(task_app, name='task'); main()"

pytestmark = pytest.mark.timeout(180)


def _toolnav(home: Path, *args: str, check_exit: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    process = subprocess.run([sys.executable, "-c", MOUNTED, "--home", str(home), *args],
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
