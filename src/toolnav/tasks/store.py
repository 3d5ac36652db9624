"""`DBOSTaskStore`: tasks as DBOS workflows in a system database (SQLite or Postgres).

Any process can use it (the server, the CLI, a test): it talks only to the database through a
`dbos.DBOSClient`, while a `toolnav.tasks.worker.TaskWorker` (possibly in another process)
runs the workflows. A task is one workflow on its agent's queue; its id is the workflow id.
Its steps are read back by replaying the recorded step outputs through the agent loop's pure
transitions (`toolnav.tasks._workflow.replay`), so progress needs no extra writes. A running
task whose tool asked the client for input is ``input_required``: its pending input requests
are the workflow's DBOS event, and `DBOSTaskStore.respond` sends the answers as a DBOS message.

Example:
    async with DBOSTaskStore(sqlite_url(home), agents=["agent-1"]) as store:
        task_id = await store.submit("add 2 and 3"); print((await store.get(task_id)).status)
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from dbos import DBOSClient, EnqueueOptions, run_dbos_database_migrations

from toolnav.errors import BackendUnavailable, TaskError, TaskFailed, TaskNotFound
from toolnav.tasks._sqlite import sqlite_engine
from toolnav.tasks._workflow import (
    INPUT_EVENT,
    INPUT_TOPIC,
    MAX_RECOVERY_ATTEMPTS,
    TOOL_WORKFLOW_NAME,
    WORKFLOW_NAME,
    replay,
)
from toolnav.tasks.models import (
    CANCELLED,
    COMPLETED,
    FAILED,
    FINISHED,
    INPUT_REQUIRED,
    QUEUED,
    STATUSES,
    WORKING,
    TaskInfo,
)

__all__ = ["APP_NAME", "APP_VERSION", "MAX_METADATA_CHARS", "MAX_TASK_CHARS", "TOOL_QUEUE",
           "DBOSTaskStore", "is_sqlite", "queue_name", "sqlite_url"]

APP_NAME = "toolnav"
# Workers only run workflows enqueued for their application version; bump it when the
# workflow's step sequence changes, so old tasks are not replayed by incompatible code.
APP_VERSION = "toolnav-tasks-1"
MAX_TASK_CHARS = 100_000
MAX_METADATA_CHARS = 10_000
# The queue of tool tasks (one tool call each), whichever tool they call.
TOOL_QUEUE = "toolnav-tools"
# How long respond() waits for the task to take the answers in (so a get right after it sees
# them taken), and how often it looks.
RESPOND_WAIT_SECONDS, RESPOND_POLL_SECONDS = 5.0, 0.02
_WORKFLOWS = (WORKFLOW_NAME, TOOL_WORKFLOW_NAME)

_STATUS_OF = {"ENQUEUED": QUEUED, "DELAYED": QUEUED, "PENDING": WORKING, "SUCCESS": COMPLETED,
              "ERROR": FAILED, "MAX_RECOVERY_ATTEMPTS_EXCEEDED": FAILED,
              "CANCELLED": CANCELLED}
_ENGINE_STATUSES = {status: [key for key, value in _STATUS_OF.items() if value == status]
                    for status in STATUSES}


def sqlite_url(home: Path) -> str:
    """The default system database: ``<home>/tasks.sqlite``."""
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(home / 'tasks.sqlite').resolve()}"


def is_sqlite(database_url: str) -> bool:
    """Whether *database_url* names a SQLite file (else it is Postgres)."""
    return database_url.startswith("sqlite:")


def queue_name(agent: str) -> str:
    """The DBOS queue of an agent's tasks (its concurrency limit is the profile's)."""
    return f"toolnav-agent-{agent}"


class DBOSTaskStore:
    """Submits and reads tasks in a DBOS system database.

    Args:
        database_url: ``sqlite:///path`` or ``postgresql://...``; created and migrated on open.
        agents: the agent names tasks may be given to; the first is the default (empty: only
            tool tasks can be submitted).
        max_task_chars: longest accepted task text.

    Raises:
        TaskError: the database cannot be opened.
    """

    def __init__(self, database_url: str, agents: Collection[str], *,
                 max_task_chars: int = MAX_TASK_CHARS) -> None:
        self.agents = list(agents)
        self.max_task_chars = max_task_chars
        try:
            run_dbos_database_migrations(database_url)
            self.engine = sqlite_engine(database_url) if is_sqlite(database_url) else None
            self._client = DBOSClient(system_database_url=database_url,
                                      system_database_engine=self.engine,
                                      application_name=APP_NAME)
        except ModuleNotFoundError as error:  # e.g. Postgres without its driver
            raise BackendUnavailable(f"the task database {_safe(database_url)} needs "
                                     f"{error.name}: pip install 'dbos'") from None
        except Exception as error:  # the engine's connection errors have no common type
            raise TaskError(f"cannot open the task database {_safe(database_url)}: "
                            f"{type(error).__name__}: {error}") from None

    async def submit(self, task: str, agent: str | None = None,
                     metadata: dict[str, Any] | None = None, *, can_ask: bool = False) -> str:
        """Persist *task* for *agent* (default: the first agent) and return its id.

        Returns only after the task is stored; a worker serving the agent picks it up.
        *can_ask*: the submitter can answer questions, so the agent is offered ``ask_user``
        (`toolnav.tasks.ask_user`; answered with `respond`).

        Raises:
            TaskError: no agent served, unknown agent, empty or too long text, metadata not a
                JSON object or larger than `MAX_METADATA_CHARS`.
        """
        if not self.agents:
            raise TaskError("no agent is configured here: set TOOLNAV_LLM_BASE_URL and "
                            "TOOLNAV_LLM_MODEL for the default agent, or pass --agents FILE")
        agent = agent or self.agents[0]
        if agent not in self.agents:
            raise TaskError(f"unknown agent {agent!r}; agents: {', '.join(self.agents)}")
        if not isinstance(task, str) or not task.strip():
            raise TaskError("the task text is empty; say what the agent should do")
        if len(task) > self.max_task_chars:
            raise TaskError(f"the task text has {len(task):,} characters; the limit is "
                            f"{self.max_task_chars:,} (put large inputs in a file or tool "
                            "and refer to them)")
        metadata = _checked_metadata(metadata)
        task_id = uuid.uuid4().hex
        options: EnqueueOptions = {"workflow_name": WORKFLOW_NAME,
                                   "queue_name": queue_name(agent), "workflow_id": task_id,
                                   "app_version": APP_VERSION}
        await self._client.enqueue_async(options, agent, task, metadata, can_ask)
        return task_id

    async def submit_tool(self, tool: str, arguments: dict[str, Any],
                          metadata: dict[str, Any] | None = None, *,
                          responses: dict[str, Any] | None = None,
                          state: str | None = None) -> str:
        """Persist one call of *tool* with (validated) *arguments* as a task; returns its id
        once stored. A worker started with a tool runner carries it out, calling the tool
        first with *responses* and *state* (answers it gathered before it became a task; see
        `toolnav.inputs.continue_as_task`).

        Raises:
            TaskError: metadata not a JSON object or too large.
        """
        metadata = _checked_metadata(metadata)
        task_id = uuid.uuid4().hex
        options: EnqueueOptions = {"workflow_name": TOOL_WORKFLOW_NAME,
                                   "queue_name": TOOL_QUEUE, "workflow_id": task_id,
                                   "app_version": APP_VERSION}
        await self._client.enqueue_async(options, tool, dict(arguments), metadata,
                                         dict(responses or {}), state)
        return task_id

    async def get(self, task_id: str) -> TaskInfo:
        """The task's status, its steps so far, and its result or error.

        Raises:
            TaskNotFound: no task has this id (never submitted, or purged).
        """
        info = await self._status(task_id, load_output=True)
        await self._check_input(info)
        steps = await self._client.list_workflow_steps_async(task_id)
        state = await replay([(step["function_name"], step["output"]) for step in steps
                              if step["error"] is None])
        if state is not None:
            info.steps, info.repairs = state.log, state.repairs
        return info

    async def respond(self, task_id: str, responses: dict[str, Any]) -> TaskInfo:
        """Deliver *responses* (answers to the task's input requests, by request id) to the
        task; answers to requests that are not pending are ignored. Returns once the task has
        taken the answers in (or after `RESPOND_WAIT_SECONDS`), so a `get` right after sees
        only the requests still pending.

        Raises:
            TaskNotFound: no task has this id.
            TaskError: *responses* is not a JSON object.
        """
        if not isinstance(responses, dict):
            raise TaskError(f"input responses must be a JSON object keyed by input request "
                            f"id, got {type(responses).__name__}")
        info = await self._status(task_id, load_output=False)
        await self._check_input(info)
        answered = set(responses) & set(info.input_requests or {})
        if not answered:
            return info
        await self._client.send_async(task_id, responses, INPUT_TOPIC)
        deadline = time.monotonic() + RESPOND_WAIT_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(RESPOND_POLL_SECONDS)
            info = await self._status(task_id, load_output=False)
            await self._check_input(info)
            if info.status in FINISHED or not answered & set(info.input_requests or {}):
                break
        return info

    async def _check_input(self, info: TaskInfo) -> None:
        """Mark a running task whose tool awaits answers ``input_required``, with its
        pending input requests."""
        if info.status != WORKING:
            return
        pending = await self._client.get_event_async(info.id, INPUT_EVENT, timeout_seconds=0)
        if pending:
            info.status, info.input_requests = INPUT_REQUIRED, dict(pending)

    async def cancel(self, task_id: str) -> TaskInfo:
        """Cancel a queued or working task; a running one stops before its next step.

        Raises:
            TaskNotFound: no task has this id.
            TaskError: the task already finished (its status says how).
        """
        info = await self._status(task_id, load_output=False)
        if info.status in FINISHED:
            raise TaskError(f"task {task_id} already finished ({info.status}); only queued "
                            "or working tasks can be cancelled")
        await self._client.cancel_workflow_async(task_id)
        return await self._status(task_id, load_output=False)

    async def list(self, status: str | None = None, agent: str | None = None,
                   limit: int = 100, where: Callable[[TaskInfo], bool] | None = None
                   ) -> list[TaskInfo]:
        """Tasks, newest first, optionally of one status and one agent (without steps), up to
        *limit* of those *where* keeps (read page by page until that many are found).

        Raises:
            TaskError: unknown status or agent, or a limit below 1.
        """
        if status is not None and status not in STATUSES:
            raise TaskError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
        engine = _ENGINE_STATUSES[WORKING if status == INPUT_REQUIRED else status] \
            if status else None
        if agent is not None and agent not in self.agents:
            raise TaskError(f"unknown agent {agent!r}; agents: {', '.join(self.agents)}")
        if limit < 1:
            raise TaskError(f"limit must be at least 1, got {limit}")
        kept: list[TaskInfo] = []
        offset = 0
        while True:
            found = await self._client.list_workflows_async(
                name=WORKFLOW_NAME, status=engine,
                queue_name=queue_name(agent) if agent else None, limit=limit, offset=offset,
                sort_desc=True, load_output=False)
            for record in found:
                info = _info(record)
                await self._check_input(info)  # working or waiting for input
                if (status is None or info.status == status) and (where is None or where(info)):
                    kept.append(info)
                    if len(kept) == limit:
                        return kept
            if len(found) < limit:
                return kept
            offset += limit

    async def purge(self, older_than_seconds: float) -> int:
        """Delete tasks that finished more than *older_than_seconds* ago; returns how many."""
        cutoff = int((time.time() - older_than_seconds) * 1000)
        old = []
        for name in _WORKFLOWS:
            finished = await self._client.list_workflows_async(
                name=name, status=[key for key, value in _STATUS_OF.items()
                                   if value in FINISHED],
                load_input=False, load_output=False)
            old += [record.workflow_id for record in finished
                    if record.updated_at is not None and record.updated_at <= cutoff]
        if old:
            await self._client.delete_workflows_async(old)
        return len(old)

    async def _status(self, task_id: str, *, load_output: bool) -> TaskInfo:
        found = await self._client.list_workflows_async(workflow_ids=[task_id],
                                                        load_output=load_output)
        found = [record for record in found if record.name in _WORKFLOWS]
        if not found:
            raise TaskNotFound(f"no task with id {task_id!r}; it was never submitted here, "
                               "or it finished and was purged after its retention time")
        return _info(found[0])

    async def aclose(self) -> None:
        """Close the database connections."""
        self._client.destroy()
        if self.engine is not None:
            self.engine.dispose()

    async def __aenter__(self) -> DBOSTaskStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _info(record: Any) -> TaskInfo:
    args = (record.input or {}).get("args") or ("", "", {})
    agent, task, metadata = [*args, "", "", {}][:3]
    status = _STATUS_OF.get(record.status, FAILED)
    info = TaskInfo(id=record.workflow_id, agent=agent, status=status, task=task,
                    metadata=metadata or {}, created_at=record.created_at,
                    updated_at=record.updated_at)
    if record.name == TOOL_WORKFLOW_NAME:  # args: tool name, arguments, metadata
        info.kind, info.agent, info.task = "tool", "", agent
    if record.status == "SUCCESS":
        info.result = record.output
    elif record.status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED":
        info.error = ("the task's worker stopped during it more than "
                      f"{MAX_RECOVERY_ATTEMPTS} times; it is not resumed again")
    elif status == FAILED:
        error = record.error
        info.error = f"{type(error).__name__}: {error}" if error else "failed (no reason kept)"
        info.error_code = error.code if isinstance(error, TaskFailed) else -32603
    return info


def _checked_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise TaskError(f"metadata must be a JSON object, got {type(metadata).__name__}")
    try:
        size = len(json.dumps(metadata))
    except (TypeError, ValueError) as error:
        raise TaskError(f"metadata must be JSON-serialisable: {error}") from None
    if size > MAX_METADATA_CHARS:
        raise TaskError(f"metadata is {size:,} characters of JSON; the limit is "
                        f"{MAX_METADATA_CHARS:,}")
    return metadata


def _safe(url: str) -> str:
    """The URL without its password (connection strings may carry one)."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
