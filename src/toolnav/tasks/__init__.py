"""Durable agent tasks: submitted, persisted, run by agent profiles on DBOS, resumable.

`DBOSTaskStore` submits and reads tasks from any process; `TaskWorker` runs them (one per
process); `load_profiles` / `build_agents` turn a profile file into live agents.

Example:
    async with TaskWorker(sqlite_url(home), agents, profiles) as worker:
        task_id = await worker.store.submit("add 2 and 3", agent="agent-1")
"""

from toolnav.tasks.base import TaskStore
from toolnav.tasks.models import FINISHED, STATUSES, TaskInfo
from toolnav.tasks.profiles import AgentProfile, build_agents, load_profiles
from toolnav.tasks.store import DBOSTaskStore, sqlite_url
from toolnav.tasks.worker import TaskWorker

__all__ = ["FINISHED", "STATUSES", "AgentProfile", "DBOSTaskStore", "TaskInfo", "TaskStore",
           "TaskWorker", "build_agents", "load_profiles", "sqlite_url"]
