"""Builds task workers for tests: a catalog of test tools, agent profiles, a fake LLM policy.

Used in-process by the tests and as a worker process (``python -m tests.tasks.harness``) that
the durability test kills with SIGKILL and restarts.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import HashingEmbedder
from toolnav.agent import AgentParams
from toolnav.agent.loop import CurrentRouter
from toolnav.config import LLMSettings
from toolnav.runtime import Toolnav
from toolnav.tasks import FINISHED, AgentProfile, DBOSTaskStore, TaskInfo, TaskWorker, build_agents
from toolnav.testing import text, tool_call

TOOLS = Path(__file__).with_name("task_tools.py")


async def wait_until_finished(store: DBOSTaskStore, tasks: int, seconds: float) -> None:
    """Poll until the newest *tasks* + 1 tasks are all finished; fail after *seconds*."""
    deadline = time.monotonic() + seconds
    while any(info.status not in FINISHED for info in await store.list(limit=tasks + 1)):
        assert time.monotonic() < deadline, f"tasks still unfinished after {seconds:.0f} s"
        await asyncio.sleep(0.2)


def check_each_effect_once(infos: list[TaskInfo], ledger: Path
                           ) -> tuple[list[TaskInfo], list[TaskInfo], int]:
    """Assert that every task ended completed or failed with a reason and that the counting
    tool's ledger holds each completed task's effect exactly once (a call retried at most
    once, after the kill); returns the completed and failed tasks and the retried calls."""
    failed = [info for info in infos if info.status != "completed"]
    assert all(info.status == "failed" and info.error for info in failed), failed[:3]
    completed = [info for info in infos if info.status == "completed"]
    effects = [line.split("\t") for line in (ledger / "effects.log").read_text().splitlines()]
    attempts = collections.Counter(line.split("\t")[0] for line in
                                   (ledger / "attempts.log").read_text().splitlines())
    keys = [key for key, _ in effects]
    assert len(keys) == len(set(keys)), "a side effect was executed twice"
    # Each completed task recorded its own text exactly once, under its own task id.
    by_task = collections.Counter(key.split(":")[0] for key in keys)
    assert all(by_task[info.id] == 1 for info in completed)
    assert {label for _, label in effects} >= {info.task for info in completed}
    assert max(attempts.values()) <= 2  # a call is retried only after the one kill
    return completed, failed, sum(count == 2 for count in attempts.values())


def record_then_answer(body: dict[str, Any]) -> dict[str, Any]:
    """Fake LLM policy: the first turn records the task text, the next one answers."""
    last = body["messages"][-1]
    if last["role"] == "user":
        return tool_call("record_call", {"label": last["content"]})
    return text(f"done: {last['content']}")


def keep_calling(body: dict[str, Any]) -> dict[str, Any]:
    """Fake LLM policy that never answers: every turn records again."""
    turn = sum(message["role"] == "assistant" for message in body["messages"])
    label = body["messages"][1]["content"]
    return tool_call("record_call", {"label": f"{label}#{turn}"}, call_id=f"c{turn}")


def open_catalog(home: Path) -> Toolnav:
    """The runtime of a home holding the test tools, indexed."""
    toolnav = Toolnav.open(home, embedder=HashingEmbedder())
    if len(toolnav.catalog) == 0:
        toolnav.catalog.add_source(TOOLS)
        toolnav.index()
    return toolnav


def profiles_for(base_url: str, *, concurrency: int = 4, max_steps: int = 8,
                 max_retries: int = 0) -> dict[str, AgentProfile]:
    return {name: AgentProfile(name, llm=LLMSettings(base_url=base_url, model=f"model-{name}",
                                                     max_retries=max_retries,
                                                     timeout_seconds=30),
                               concurrency=concurrency,
                               params=AgentParams(max_steps=max_steps, k=2))
            for name in ("agent-1", "agent-2")}


def make_worker(toolnav: Toolnav, executor: Any, database_url: str,
                profiles: dict[str, AgentProfile], **options: Any) -> TaskWorker:
    agents = build_agents(profiles, CurrentRouter(toolnav), executor,
                          trace_dir=toolnav.settings.home / "traces")
    return TaskWorker(database_url, agents, profiles, **options)


async def serve(args: argparse.Namespace) -> None:
    """Run a worker until the process is killed."""
    with open_catalog(Path(args.home)) as toolnav:
        profiles = profiles_for(args.llm, concurrency=args.concurrency)
        async with toolnav.executor() as executor, make_worker(
                toolnav, executor, args.database, profiles, polling_seconds=0.05):
            print(json.dumps({"ready": True}), flush=True)
            await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--llm", required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    asyncio.run(serve(parser.parse_args(sys.argv[1:])))
