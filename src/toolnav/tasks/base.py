"""The `TaskStore` role: submit, inspect, cancel, list and purge durable agent tasks.

`toolnav.tasks.store.DBOSTaskStore` implements it on DBOS's system database (SQLite in the
home, or Postgres by URL with the same code); the MCP server and the CLI code against this.

Example:
    task_id = await store.submit("convert 100 F to Celsius", agent="agent-1")
    info = await store.get(task_id)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from toolnav.tasks.models import TaskInfo

__all__ = ["TaskStore"]


class TaskStore(Protocol):
    """Where tasks are persisted and read back, whichever process runs them."""

    async def submit(self, task: str, agent: str | None = None,
                     metadata: dict[str, Any] | None = None) -> str:
        """Persist a task for *agent* and return its id (only once it is stored)."""
        ...

    async def get(self, task_id: str) -> TaskInfo:
        """The task's status, steps so far, and result or error."""
        ...

    async def cancel(self, task_id: str) -> TaskInfo:
        """Cancel a queued or working task."""
        ...

    async def list(self, status: str | None = None, agent: str | None = None,
                   limit: int = 100, where: Callable[[TaskInfo], bool] | None = None
                   ) -> list[TaskInfo]:
        """Tasks, newest first: up to *limit* of those *where* keeps."""
        ...

    async def purge(self, older_than_seconds: float) -> int:
        """Delete tasks finished more than *older_than_seconds* ago; returns how many."""
        ...

    async def aclose(self) -> None:
        """Release the store's connections."""
        ...
