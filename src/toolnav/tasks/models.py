"""What a task looks like to callers: its status values and the `TaskInfo` record.

Statuses follow the MCP Tasks extension (SEP-2663) plus ``queued``: ``queued`` (persisted,
waiting for its agent), ``working``, ``input_required`` (its tool asked the client for input
and waits for the answers), ``completed``, ``failed`` (with the reason) and ``cancelled``.

Example:
    info = await store.get(task_id)
    if info.status in FINISHED: print(info.result or info.error)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CANCELLED", "COMPLETED", "FAILED", "FINISHED", "INPUT_REQUIRED", "QUEUED",
           "STATUSES", "WORKING", "TaskInfo"]

QUEUED, WORKING, INPUT_REQUIRED = "queued", "working", "input_required"
COMPLETED, FAILED, CANCELLED = "completed", "failed", "cancelled"
STATUSES = (QUEUED, WORKING, INPUT_REQUIRED, COMPLETED, FAILED, CANCELLED)
FINISHED = frozenset({COMPLETED, FAILED, CANCELLED})


@dataclass
class TaskInfo:
    """One task as `TaskStore.get` and `TaskStore.list` report it.

    Attributes:
        id: the task id (unguessable).
        agent: the agent profile running it.
        status: one of `STATUSES`.
        task: the task text.
        metadata: what the submitter attached.
        created_at, updated_at: Unix epoch milliseconds.
        steps: progress so far, one entry per LLM turn (``llm``), validation
            (``validation``, with the tool, issues and error of a rejected call) and tool call
            (``execution``); empty in listings.
        repairs: invalid calls answered with an error so far.
        result: the outcome of a completed task (status, answer, calls, repairs, steps; for
            a tool task, the tool's MCP result).
        error: why a failed task failed.
        error_code: the JSON-RPC code of a failed task (-32603 unless the server said more).
        kind: ``agent`` (an agent runs the task text) or ``tool`` (one tool call: ``task``
            is the tool's name).
        input_requests: while ``input_required``, the MCP input requests still unanswered,
            by request id (see `toolnav.inputs`).
    """

    id: str
    agent: str
    status: str
    task: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: int | None = None
    updated_at: int | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    repairs: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    error_code: int | None = None
    kind: str = "agent"
    input_requests: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-serialisable data."""
        return asdict(self)
