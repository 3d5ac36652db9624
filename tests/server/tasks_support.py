"""Shared pieces of the server task tests: a served home with the task test tools, agent
profile files for a fake LLM, the fake LLM's policy, and polling a task over MCP."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio

from tests.tasks.harness import TOOLS, keep_calling, record_then_answer
from toolnav.runtime import Toolnav

FIXTURES = Path(__file__).parent / "conformance" / "fixture_tools.py"


def build_task_home(folder: Path, embedder: Any) -> Path:
    """A home holding the task test tools (record_call, add_numbers) and the conformance
    fixtures (slow_compute runs as a task), indexed with *embedder*."""
    with Toolnav.open(folder / "home", embedder=embedder) as toolnav:
        toolnav.catalog.add_source(TOOLS)
        toolnav.catalog.add_source(FIXTURES)
        toolnav.index()
    return folder / "home"


def agents_file(folder: Path, llm_url: str, *, concurrency: int = 4,
                down_url: str | None = None) -> Path:
    """Two profiles on the fake LLM (and, with *down_url*, one whose endpoint is down)."""
    lines = []
    for name in ("agent-1", "agent-2"):
        lines += [f"[agents.{name}]", f'base_url = "{llm_url}"', f'model = "model-{name}"',
                  "max_retries = 0", "max_steps = 8", "k = 10", f"concurrency = {concurrency}",
                  ""]
    if down_url:
        lines += ["[agents.agent-down]", f'base_url = "{down_url}"', 'model = "m"',
                  "max_retries = 1", "timeout_seconds = 2", ""]
    path = folder / "agents.toml"
    path.write_text("\n".join(lines))
    return path


def policy(body: dict[str, Any]) -> dict[str, Any]:
    """Tasks whose text starts with "loop" call the counting tool until stopped; others
    record their text once and answer."""
    if body["messages"][1]["content"].startswith("loop"):
        return keep_calling(body)
    return record_then_answer(body)


async def wait_for_task(client: Any, task_id: str, until: tuple[str, ...] = (
        "completed", "failed", "cancelled"), timeout: float = 60) -> dict[str, Any]:
    """Poll get_task over MCP until the task reaches one of *until*."""
    deadline = time.monotonic() + timeout
    while True:
        got = await client.call_tool("get_task", {"id": task_id})
        assert not got.is_error, got.content
        info = got.structured_content
        if info["status"] in until:
            return info
        assert time.monotonic() < deadline, f"task still {info['status']} after {timeout} s"
        await anyio.sleep(0.1)


def effects(ledger: Path, task_id: str) -> int:
    """How many record_call side effects task *task_id* has had."""
    log = ledger / "effects.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return sum(line.startswith(f"{task_id}:") for line in lines)
