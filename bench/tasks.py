"""Tasks benchmark: submit throughput and the engine's overhead per step against the bare loop.

The same agent (a one-tool router, a zero-cost tool, the fake OpenAI-compatible LLM over real
HTTP with zero delay) runs each task with ``--turns`` tool calls and a final answer, first
in-process with `Agent.run` (the bare loop), then as durable tasks on a `TaskWorker` (DBOS on
SQLite in a temporary folder, queue concurrency 1 so tasks run one at a time like the bare
loop). With the queue full, the time between one task's end and the next one's (from the
task records) is the engine's time per task, queue polling included; overhead per step =
(engine - bare) / steps, a step being the start (route and render), each LLM turn and each
tool call; the same figure is also split into the time inside the task's steps and the time
per task outside them (dequeue, workflow records). Submit throughput is measured with the
worker running, one submit at a time and all at once. For scale, the same DBOS
instance then runs a workflow of ``--floor-steps`` no-op async steps: DBOS's own cost per step
on this machine, whatever the agent does.

Run:
    .venv/bin/python bench/tasks.py [--tasks 100] [--turns 2] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from dbos import DBOS

from toolnav.agent import Agent, AgentParams
from toolnav.config import LLMSettings
from toolnav.execute import ToolResult
from toolnav.route import Candidate, RouteResult
from toolnav.tasks import AgentProfile, TaskWorker, sqlite_url
from toolnav.testing import FakeLLM, text, tool_call
from toolnav.tool import Tool

TOOL = Tool("add_numbers", "Add two integers.", {
    "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"]})


class OneToolRouter:
    def route(self, request: str, k: int = 5, **options: Any) -> RouteResult:
        return RouteResult(request=request, abstained=False, best_score=1.0, lift=0.5,
                           candidates=[Candidate(tool=TOOL, score=1.0, rank=1)])


class ZeroCostExecutor:
    async def execute(self, tool: Tool, arguments: dict[str, Any]) -> ToolResult:
        return ToolResult(tool.name, False, str(arguments["a"] + arguments["b"]))


@DBOS.step(name="bench.noop")
async def noop_step(index: int) -> dict[str, int]:
    return {"index": index}


@DBOS.workflow(name="bench.floor")
async def floor_workflow(steps: int) -> int:
    for index in range(steps):
        await noop_step(index)
    return steps


async def dbos_step_floor(steps: int, repeats: int = 10) -> float:
    """Median ms per no-op step: (workflow of *steps* steps - empty workflow) / steps."""
    medians = []
    for count in (0, steps):
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            await (await DBOS.start_workflow_async(floor_workflow, count)).get_result()
            seconds.append(time.perf_counter() - start)
        medians.append(statistics.median(seconds) * 1000)
    return (medians[1] - medians[0]) / steps


def policy(turns: int):
    def respond(body: dict[str, Any]) -> dict[str, Any]:
        done = sum(message["role"] == "tool" for message in body["messages"])
        if done < turns:
            return tool_call("add_numbers", {"a": done, "b": 1}, call_id=f"c{done}")
        return text("finished")
    return respond


def make_agent(base_url: str, turns: int) -> Agent:
    return Agent(OneToolRouter(), LLMSettings(base_url=base_url, model="fake", max_retries=0),
                 executor=ZeroCostExecutor(), params=AgentParams(max_steps=turns + 1))


async def bare(base_url: str, tasks: int, turns: int) -> list[float]:
    async with make_agent(base_url, turns) as agent:
        await agent.run("warm up")
        seconds = []
        cpu = time.process_time()
        for n in range(tasks):
            start = time.perf_counter()
            outcome = await agent.run(f"task {n}")
            seconds.append(time.perf_counter() - start)
            assert outcome.status == "answered" and len(outcome.calls) == turns
    return seconds, (time.process_time() - cpu) / tasks


async def engine(base_url: str, tasks: int, turns: int, database_url: str,
                 polling_seconds: float, floor_steps: int) -> dict[str, Any]:
    profiles = {"bench": AgentProfile("bench", concurrency=1)}
    agents = {"bench": make_agent(base_url, turns)}
    async with TaskWorker(database_url, agents, profiles,
                          polling_seconds=polling_seconds) as worker:
        store = worker.store
        start, cpu = time.perf_counter(), time.process_time()
        ids = [await store.submit(f"task {n}") for n in range(tasks)]
        submit_seconds = time.perf_counter() - start
        # As a server does: several clients submitting at once (these tasks also run).
        tick = time.perf_counter()
        ids += await asyncio.gather(*(store.submit(f"extra {n}") for n in range(tasks)))
        parallel_seconds = time.perf_counter() - tick
        while (await store.list(limit=1))[0].status != "completed":  # the last, done last
            await asyncio.sleep(0.25)  # rarely: polling costs CPU, counted below
        total = time.perf_counter() - start
        cpu_per_task = (time.process_time() - cpu) / len(ids)  # the submits' share included
        spans = []
        for task_id in ids:
            steps = await store._client.list_workflow_steps_async(task_id)
            spans.append((steps[0]["started_at_epoch_ms"], steps[-1]["completed_at_epoch_ms"]))
        floor_ms = await dbos_step_floor(floor_steps)
    spans.sort()
    # Skip the first tenth: submits still compete with the worker for the database then.
    spans = spans[len(spans) // 10:]
    run_ms = [later[0] - earlier[0] for earlier, later in itertools.pairwise(spans)]
    inside_ms = [end - begin for begin, end in spans]
    return {"submits_per_second": tasks / submit_seconds,
            "parallel_submits_per_second": tasks / parallel_seconds, "run_ms": run_ms,
            "inside_ms": inside_ms, "total_seconds": total, "floor_ms": floor_ms,
            "cpu_per_task": cpu_per_task}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--turns", type=int, default=2, help="tool calls per task")
    parser.add_argument("--floor-steps", type=int, default=60)
    parser.add_argument("--database-url", help="system database (default: SQLite in a "
                        "temporary folder); postgresql://... for the Postgres mode")
    parser.add_argument("--polling-seconds", type=float, default=0.05,
                        help="queue polling interval (the worker's default is 0.25 s)")
    args = parser.parse_args()
    steps = 1 + (args.turns + 1) + args.turns  # start, LLM turns, tool calls
    with FakeLLM(respond=policy(args.turns)) as llm, \
            tempfile.TemporaryDirectory() as folder:
        bare_seconds, bare_cpu = asyncio.run(bare(llm.base_url, args.tasks, args.turns))
        database_url = args.database_url or sqlite_url(Path(folder))
        measured = asyncio.run(engine(llm.base_url, args.tasks, args.turns, database_url,
                                      args.polling_seconds, args.floor_steps))
    bare_ms = statistics.median(bare_seconds) * 1000
    engine_ms = statistics.median(measured["run_ms"])
    print(f"{args.tasks} bare runs, {2 * args.tasks} tasks, {args.turns} tool calls each "
          f"({steps} steps per task); system database "
          f"{'Postgres' if args.database_url else 'SQLite'}, queue polled every "
          f"{args.polling_seconds * 1000:.0f} ms")
    print(f"submit throughput (worker running): {measured['submits_per_second']:.0f} "
          f"submits/s one at a time, {measured['parallel_submits_per_second']:.0f} submits/s "
          f"with {args.tasks} at once")
    print(f"bare loop:      median {bare_ms:.1f} ms per task")
    p90_ms = sorted(measured["run_ms"])[int(0.9 * len(measured["run_ms"]))]
    print(f"durable engine: median {engine_ms:.1f} ms per task (p90 {p90_ms:.1f} ms), of "
          f"which {statistics.median(measured['inside_ms']):.1f} ms from first step start to "
          "last step end; all "
          f"{2 * args.tasks} done {measured['total_seconds']:.1f} s after the first submit")
    inside_ms = statistics.median(measured["inside_ms"])
    print(f"engine overhead: {(engine_ms - bare_ms) / steps:.2f} ms per step (median), "
          f"{(p90_ms - bare_ms) / steps:.2f} ms per step (p90), all engine time spread over "
          f"the steps; split: {(inside_ms - bare_ms) / steps:.2f} ms per step between the "
          f"first step's start and the last step's end, and {engine_ms - inside_ms:.0f} ms "
          "per task outside the steps (dequeue, workflow start and end records)")
    cpu_ms = (measured["cpu_per_task"] - bare_cpu) * 1000
    print(f"CPU time of this process: bare {bare_cpu * 1000:.1f} ms per task, engine "
          f"{measured['cpu_per_task'] * 1000:.1f} ms per task (submit included): "
          f"{cpu_ms / steps:.2f} ms CPU per step")
    print(f"DBOS alone: {measured['floor_ms']:.2f} ms per no-op async step")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
