"""`TaskWorker`: runs tasks in this process on DBOS, one queue per agent profile.

It launches DBOS on the running event loop (so workflows share the loop, HTTP pools and MCP
sessions of the caller), declares each profile's queue with its concurrency limit, registers
the live agents, resumes the tasks an earlier process left unfinished, and purges finished
tasks older than the retention time, periodically. One worker per process: DBOS is a
process-wide engine. Submitting and reading tasks is `toolnav.tasks.store.DBOSTaskStore`.

Example:
    async with TaskWorker(url, agents, profiles) as worker:
        task_id = await worker.store.submit("add 2 and 3")
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from dbos import DBOS, DBOSConfig

from toolnav.agent import Agent
from toolnav.errors import ConfigError
from toolnav.tasks._workflow import ToolRunner, register_agents, register_tool_runner
from toolnav.tasks.profiles import AgentProfile
from toolnav.tasks.store import APP_NAME, APP_VERSION, TOOL_QUEUE, DBOSTaskStore, queue_name

__all__ = ["DEFAULT_PURGE_INTERVAL_SECONDS", "DEFAULT_RETENTION_SECONDS",
           "DEFAULT_TOOL_CONCURRENCY", "TaskWorker"]

DEFAULT_RETENTION_SECONDS = 7 * 24 * 3600.0
DEFAULT_TOOL_CONCURRENCY = 16
DEFAULT_PURGE_INTERVAL_SECONDS = 3600.0
# Each poll of an agent's queue costs a few ms of CPU: at 0.25 s an idle worker with two agents
# uses ~6% of a core (0.05 s: ~23%), and a task waits at most this long to start.
DEFAULT_POLLING_SECONDS = 0.25


class TaskWorker:
    """Runs the tasks of *agents* from the system database at *database_url*.

    Args:
        database_url: ``sqlite:///path`` or ``postgresql://...``.
        agents: live agents by profile name (see `toolnav.tasks.profiles.build_agents`).
        profiles: their profiles (for each queue's concurrency).
        retention_seconds: finished tasks older than this are purged.
        purge_interval_seconds: how often the purge runs.
        polling_seconds: how often each queue is polled for new tasks (latency to start a
            task against idle CPU).
        close_agents: close the agents (their LLM clients) when the worker closes.
        tool_runner: runs the calls of tool tasks (see `toolnav.tasks.store.DBOSTaskStore.
            submit_tool`); None: this worker runs agent tasks only.
        tool_concurrency: tool tasks running at once (across all workers).

    Raises:
        ConfigError: an agent has no profile, or a time is not positive.
    """

    def __init__(self, database_url: str, agents: Mapping[str, Agent],
                 profiles: Mapping[str, AgentProfile], *,
                 retention_seconds: float = DEFAULT_RETENTION_SECONDS,
                 purge_interval_seconds: float = DEFAULT_PURGE_INTERVAL_SECONDS,
                 polling_seconds: float = DEFAULT_POLLING_SECONDS,
                 close_agents: bool = True, tool_runner: ToolRunner | None = None,
                 tool_concurrency: int = DEFAULT_TOOL_CONCURRENCY) -> None:
        missing = sorted(set(agents) - set(profiles))
        if missing:
            raise ConfigError(f"agents without a profile: {', '.join(missing)}")
        if min(retention_seconds, purge_interval_seconds, polling_seconds) <= 0:
            raise ConfigError("retention, purge interval and polling times must be positive")
        if tool_concurrency < 1:
            raise ConfigError(f"tool concurrency must be at least 1, got {tool_concurrency}")
        self.database_url = database_url
        self.agents = dict(agents)
        self.profiles = profiles
        self.retention_seconds = retention_seconds
        self.purge_interval_seconds = purge_interval_seconds
        self.polling_seconds = polling_seconds
        self.close_agents = close_agents
        self.tool_runner = tool_runner
        self.tool_concurrency = tool_concurrency
        self.store: DBOSTaskStore | None = None
        self._purging: asyncio.Task | None = None

    async def start(self) -> DBOSTaskStore:
        """Launch the engine (resuming unfinished tasks) and return a store on its database.

        Raises:
            TaskError: the database cannot be opened.
        """
        self.store = DBOSTaskStore(self.database_url, list(self.agents))
        register_agents(self.agents)
        register_tool_runner(self.tool_runner)
        config: DBOSConfig = {"name": APP_NAME, "system_database_url": self.database_url,
                              "application_version": APP_VERSION, "log_level": "WARNING"}
        if self.store.engine is not None:  # SQLite: the store's WAL engine (see _sqlite)
            config["system_database_engine"] = self.store.engine
        DBOS(config=config)
        DBOS.launch()  # on this loop: DBOS then runs the workflows on it too
        for name in self.agents:
            await DBOS.register_queue_async(
                queue_name(name), global_concurrency=self.profiles[name].concurrency,
                polling_interval_sec=self.polling_seconds)
        if self.tool_runner is not None:
            await DBOS.register_queue_async(
                TOOL_QUEUE, global_concurrency=self.tool_concurrency,
                polling_interval_sec=self.polling_seconds)
        self._purging = asyncio.get_running_loop().create_task(self._purge_periodically())
        return self.store

    async def purge(self) -> int:
        """Delete finished tasks older than the retention time now; returns how many."""
        assert self.store is not None, "start the worker first"
        return await self.store.purge(self.retention_seconds)

    async def _purge_periodically(self) -> None:
        while True:
            await self.purge()
            await asyncio.sleep(self.purge_interval_seconds)

    async def aclose(self) -> None:
        """Stop taking tasks (running ones resume in the next worker) and close."""
        if self._purging is not None:
            self._purging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purging
        DBOS.destroy(workflow_completion_timeout_sec=0)
        # DBOS made its thread pool this loop's default executor and has just shut it down;
        # without a fresh one every later asyncio.to_thread on the loop would fail.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor())
        register_agents({})
        register_tool_runner(None)
        if self.store is not None:
            await self.store.aclose()
        if self.close_agents:
            for agent in self.agents.values():
                await agent.aclose()

    async def __aenter__(self) -> TaskWorker:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
