"""Durable tasks through the MCP server: the task tools and the MCP Tasks extension.

Two ways in, one store (`toolnav.tasks.DBOSTaskStore`, worked by the `TaskWorker` running in
the server's process):

- Tools any client can call: ``submit_task(task, agent?, metadata?)`` (an agent runs the task
  text; the id comes back at once, the task persisted first), ``get_task(id)`` (status, steps
  so far, result or error), ``cancel_task(id)``, ``list_tasks(status?, agent?)`` and
  ``respond_task(id, responses)`` (answers to a task's pending input requests). A task
  submitted by a client that declared elicitation offers its agent ``ask_user``
  (`toolnav.tasks.ask_user`): its questions park the task in ``input_required``.
- The Tasks extension (``io.modelcontextprotocol/tasks``, SEP-2663) for clients that declare
  it, per connection or per request: ``submit_task`` and every task-capable catalog tool (tag
  ``task:optional`` or ``task:required``) answer a ``CreateTaskResult``; ``tasks/get``,
  ``tasks/update`` and ``tasks/cancel`` follow it. A client that did not declare the
  extension never gets one: optional tools run synchronously, required ones answer -32021.
  A tool also tagged ``task:input-first`` runs as a plain call first, gathering its input
  by input-required results, and becomes a task when it calls
  `toolnav.inputs.continue_as_task`; the task starts with the answers gathered.

Tasks belong to the caller that created them: a scoped token sees and cancels only its own
(another's id answers as unknown, so ids cannot be probed), and may give tasks only to agents
whose tool scope lies within its namespaces. The gateway (`toolnav.server.gateway`) routes
calls here; the worker calls tool tasks back through `tool_runner`.

Example:
    tasks = TaskTools(worker.store, agent_scopes={"agent-1": frozenset({"calc"})})
    worker = TaskWorker(url, agents, profiles, tool_runner=tool_runner(backend))
    gateway = Gateway(backend, tasks=tasks)
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Mapping
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import decode_header_value
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from toolnav.agent.loop import IDEMPOTENCY_PARAMETER
from toolnav.errors import TaskError, TaskFailed, TaskNotFound, ToolNotFound, ValidationFailed
from toolnav.server.auth import caller_name, namespaces_in_scope
from toolnav.server.backend import GatewayBackend
from toolnav.server.mrtr import client_capabilities
from toolnav.server.results import input_required_result, structured_result, tool_result
from toolnav.tasks import STATUSES, DBOSTaskStore, TaskInfo
from toolnav.tasks._workflow import ToolRunner
from toolnav.tasks.models import COMPLETED, FAILED, FINISHED, INPUT_REQUIRED, QUEUED
from toolnav.tool import Tool
from toolnav.validate import validate_arguments

__all__ = ["CANCEL_TASK", "GET_TASK", "INPUT_FIRST_TAG", "LIST_TASKS", "OWNER_KEY",
           "RESPOND_TASK", "SUBMIT_TASK", "TASKS_EXTENSION", "TASK_TOOLS", "TaskTools",
           "task_support", "tool_runner"]

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
# Kept in each task's metadata: the token name of the caller that created it.
OWNER_KEY = "toolnav.caller"
POLL_INTERVAL_MS = 500
_TASK_TAGS = {"task:optional": "optional", "task:required": "required"}
INPUT_FIRST_TAG = "task:input-first"
_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
_ID = {"type": "string", "minLength": 1, "description": "The task id submit_task returned."}

SUBMIT_TASK = Tool(
    name="submit_task",
    description=(
        "Give a task to an agent, which works on it in the background with this server's "
        "tools (search, validated calls, repairs). Returns the task id at once; follow it "
        "with get_task."),
    input_schema={
        "type": "object",
        "properties": {
            "task": {"type": "string", "description": "What the agent should do."},
            "agent": {"type": "string", "description": "The agent profile (default: the "
                      "server's first agent)."},
            "metadata": {"type": "object", "description": "Kept with the task, returned by "
                         "get_task."},
        },
        "required": ["task"],
        "additionalProperties": False,
    },
)
GET_TASK = Tool(
    name="get_task",
    description=("A task's status (queued, working, input_required, completed, failed, "
                 "cancelled), its steps so far (tool calls, validation errors, repairs), and "
                 "its result or error."),
    input_schema={"type": "object", "properties": {"id": _ID}, "required": ["id"],
                  "additionalProperties": False},
)
CANCEL_TASK = Tool(
    name="cancel_task",
    description="Cancel a queued or working task; a running one stops before its next step.",
    input_schema={"type": "object", "properties": {"id": _ID}, "required": ["id"],
                  "additionalProperties": False},
)
LIST_TASKS = Tool(
    name="list_tasks",
    description="Your tasks, newest first, optionally of one status and one agent.",
    input_schema={
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": list(STATUSES)},
            "agent": {"type": "string"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
        },
        "additionalProperties": False,
    },
)
RESPOND_TASK = Tool(
    name="respond_task",
    description=("Answer a task that is input_required: its input_requests (from get_task), "
                 "keyed by request id. An elicitation is answered {\"action\": \"accept\", "
                 "\"content\": {...}} (or decline / cancel). Returns the task's status and the "
                 "requests still pending."),
    input_schema={"type": "object",
                  "properties": {"id": _ID, "responses": {
                      "type": "object", "minProperties": 1,
                      "description": "Answers by input request id."}},
                  "required": ["id", "responses"], "additionalProperties": False},
)
TASK_TOOLS = {tool.name: tool for tool in (SUBMIT_TASK, GET_TASK, CANCEL_TASK, LIST_TASKS,
                                           RESPOND_TASK)}


def task_support(tool: Tool) -> str | None:
    """``optional`` or ``required`` for a tool tagged ``task:optional`` / ``task:required``
    (it may run, or must run, as a task); None for a plain tool."""
    for tag in tool.tags:
        if tag in _TASK_TAGS:
            return _TASK_TAGS[tag]
    return None


def tool_runner(backend: GatewayBackend) -> ToolRunner:
    """The `ToolRunner` a server's worker runs tool tasks with: the tool's current record,
    its arguments checked again against the current schema, the idempotency key passed to a
    tool that takes one. A tool error is a result (``isError``), a tool that asks the client for
    input an input-required result (the task then waits for tasks/update); a tool the server
    cannot run any more fails the task (`TaskFailed`, with a JSON-RPC code)."""

    async def run(name: str, arguments: dict[str, Any], key: str, responses: dict[str, Any],
                  state: str | None) -> dict[str, Any]:
        try:
            tool = await backend.get_tool(name)
        except ToolNotFound as error:
            raise TaskFailed(str(error), types.INVALID_PARAMS) from None
        if not (tool.binding or {}).get("kind"):
            raise TaskFailed(f"tool {name!r} is listed but has no executable binding; the "
                             "server cannot run it", types.INTERNAL_ERROR)
        try:
            valid = validate_arguments(tool, arguments)
        except ValidationFailed as error:
            raise TaskFailed(f"tool {name!r} changed since the task was created: {error}",
                             types.INVALID_PARAMS) from None
        if IDEMPOTENCY_PARAMETER in tool.parameters():
            valid = {**valid, IDEMPOTENCY_PARAMETER: key}
        result = await backend.call(tool.name, valid, responses=responses, state=state)
        asked = input_required_result(result)
        if asked is not None:
            return asked
        return tool_result(result).model_dump(by_alias=True, mode="json", exclude_none=True)

    return run


class TaskTools:
    """The task tools and the Tasks extension over *store* (see the module docstring).

    Args:
        store: the task store the server's worker runs.
        agent_scopes: each agent's tool namespaces (empty: every namespace), for token scopes.
        ttl_seconds: how long finished tasks are kept (the worker's retention), as ``ttlMs``.
        sampling_agents: agents whose model is the client's (`toolnav.tasks.sampling`): only
            a client that declared sampling may give them tasks.
    """

    def __init__(self, store: DBOSTaskStore, *,
                 agent_scopes: Mapping[str, frozenset[str]] | None = None,
                 ttl_seconds: float = 7 * 24 * 3600.0,
                 sampling_agents: frozenset[str] = frozenset()) -> None:
        self.store = store
        self.agent_scopes = dict(agent_scopes or {})
        self.sampling_agents = sampling_agents
        self.ttl_ms = int(ttl_seconds * 1000)

    def install(self, server: Server) -> None:
        """Advertise the Tasks extension on *server* and serve its three methods."""
        server.extensions[TASKS_EXTENSION] = {}
        server.add_request_handler("tasks/get", types.GetTaskRequestParams, self._tasks_get)
        server.add_request_handler("tasks/update", _UpdateParams, self._tasks_update)
        server.add_request_handler("tasks/cancel", types.CancelTaskRequestParams,
                                   self._tasks_cancel)

    def tools(self) -> list[types.Tool]:
        """The task tools as tools/list shows them."""
        return [types.Tool(name=tool.name, description=tool.description,
                           input_schema=dict(tool.input_schema),
                           execution=types.ToolExecution(task_support="optional")
                           if tool is SUBMIT_TASK else None)
                for tool in TASK_TOOLS.values()]

    async def call(self, ctx: ServerRequestContext, name: str, arguments: Mapping[str, Any]
                   ) -> tuple[types.CallToolResult | dict[str, Any], str]:
        """Answer a call of one of `TASK_TOOLS` (the result and its metrics outcome).

        Raises:
            ValidationFailed: the arguments do not fit the tool's schema.
            TaskError: unknown agent or id, bad task text, a finished task cancelled, an
                answer to no pending input request.
        """
        valid = validate_arguments(TASK_TOOLS[name], arguments)
        if name == SUBMIT_TASK.name:
            return await self._submit(ctx, valid)
        if name == LIST_TASKS.name:
            infos = await self.store.list(valid.get("status"), valid.get("agent"),
                                          int(valid.get("limit", 50)),
                                          where=lambda info: self._visible(ctx, info))
            return structured_result({"tasks": [_summary(info) for info in infos]}), "ok"
        info = await self._find(ctx, valid["id"])
        if name == CANCEL_TASK.name:
            info = await self.store.cancel(info.id)
            return structured_result(_summary(info)), "ok"
        if name == RESPOND_TASK.name:
            pending = sorted(info.input_requests or {})
            if not set(valid["responses"]) & set(pending):
                raise TaskError(f"task {info.id} is {info.status} and waits for no answer to "
                                f"{', '.join(sorted(valid['responses']))}; pending input "
                                f"requests: {', '.join(pending) or 'none'} (see get_task)")
            info = await self.store.respond(info.id, valid["responses"])
            return structured_result({**_summary(info),
                                      "input_requests": info.input_requests or {}}), "ok"
        return structured_result(info.to_dict()), "ok"

    async def start_tool_task(self, ctx: ServerRequestContext, tool: Tool,
                              arguments: Mapping[str, Any],
                              gathered: Mapping[str, Any] | None = None
                              ) -> dict[str, Any] | None:
        """A ``CreateTaskResult`` for a call of a task-capable *tool* (arguments validated)
        by a client that declared the extension; None when the call runs synchronously (a
        ``task:input-first`` tool runs so until it has *gathered* its input).

        Args:
            gathered: for an input-first tool that continues as a task, the answers
                (``responses``) and ``state`` of the call; the task starts with them.

        Raises:
            MCPError: -32021 when the tool requires a task and the client did not declare
                the extension.
        """
        mode = task_support(tool)
        if mode is None:
            return None
        if not declares_tasks(ctx):
            if mode == "required":
                raise MCPError(types.MISSING_REQUIRED_CLIENT_CAPABILITY,
                               f"tool {tool.name!r} runs only as a task: declare the "
                               f"{TASKS_EXTENSION} extension in the client capabilities",
                               data={"requiredCapabilities": {
                                   "extensions": {TASKS_EXTENSION: {}}}})
            return None
        if gathered is None and INPUT_FIRST_TAG in tool.tags:
            return None
        gathered = gathered or {}
        task_id = await self.store.submit_tool(tool.name, dict(arguments),
                                               {OWNER_KEY: caller_name(ctx)},
                                               responses=gathered.get("responses"),
                                               state=gathered.get("state"))
        return await self._created(task_id)

    def input_first(self, ctx: ServerRequestContext, tool: Tool) -> bool:
        """Whether this call of *tool* gathers its input synchronously and may then become a
        task (a ``task:input-first`` task-capable tool, a client that declared the
        extension)."""
        return (INPUT_FIRST_TAG in tool.tags and task_support(tool) is not None
                and declares_tasks(ctx))

    async def _submit(self, ctx: ServerRequestContext, valid: Mapping[str, Any]
                      ) -> tuple[types.CallToolResult | dict[str, Any], str]:
        agent = valid.get("agent") or (self.store.agents[0] if self.store.agents else None)
        allowed = namespaces_in_scope(ctx)
        if allowed is not None and agent in self.agent_scopes:
            scope = self.agent_scopes[agent]
            if not scope or not scope <= allowed:
                reach = ", ".join(sorted(scope)) if scope else "every namespace"
                raise TaskError(f"insufficient_scope: agent {agent!r} may use tools of "
                                f"{reach}; this token may use only {', '.join(sorted(allowed))}")
        metadata = {**(valid.get("metadata") or {}), OWNER_KEY: caller_name(ctx)}
        capabilities = client_capabilities(ctx) or frozenset()
        if agent in self.sampling_agents and "sampling" not in capabilities:
            raise TaskError(f"agent {agent!r} uses your model through MCP sampling: declare "
                            "the sampling capability (and answer its sampling requests with "
                            "tasks/update or respond_task), or choose another agent")
        can_ask = "elicitation" in capabilities
        task_id = await self.store.submit(valid["task"], agent, metadata, can_ask=can_ask)
        if declares_tasks(ctx):
            return await self._created(task_id), "task"
        return structured_result({"id": task_id, "agent": agent, "status": QUEUED}), "ok"

    async def _created(self, task_id: str) -> dict[str, Any]:
        return {"resultType": "task", **self._envelope(await self.store.get(task_id))}

    def _envelope(self, info: TaskInfo) -> dict[str, Any]:
        return {"taskId": info.id, "status": "working" if info.status == QUEUED else info.status,
                "createdAt": _iso(info.created_at), "lastUpdatedAt": _iso(info.updated_at),
                "ttlMs": self.ttl_ms, "pollIntervalMs": POLL_INTERVAL_MS}

    def _visible(self, ctx: ServerRequestContext, info: TaskInfo) -> bool:
        return (namespaces_in_scope(ctx) is None
                or info.metadata.get(OWNER_KEY) == caller_name(ctx))

    async def _find(self, ctx: ServerRequestContext, task_id: str) -> TaskInfo:
        info = await self.store.get(task_id)
        if not self._visible(ctx, info):  # as if unknown: ids cannot be probed
            raise TaskNotFound(f"no task with id {task_id!r}; it was never submitted here, "
                               "or it finished and was purged after its retention time")
        return info

    async def _extension_task(self, ctx: ServerRequestContext, task_id: str) -> TaskInfo:
        """The task a tasks/* request names, after the capability, header and owner checks."""
        _require_tasks(ctx)
        request = getattr(ctx, "request", None)
        header = request.headers.get("mcp-name") if request is not None else None
        if header is not None and decode_header_value(header).strip() != task_id:
            raise MCPError(types.HEADER_MISMATCH, "Mcp-Name header does not match the "
                           "request body's 'taskId' parameter")
        try:
            return await self._find(ctx, task_id)
        except TaskNotFound as error:
            raise MCPError(types.INVALID_PARAMS, str(error)) from None

    async def _tasks_get(self, ctx: ServerRequestContext, params: types.GetTaskRequestParams
                         ) -> dict[str, Any]:
        info = await self._extension_task(ctx, params.task_id)
        detailed = self._envelope(info)
        if info.status == COMPLETED:
            detailed["result"] = _mcp_result(info)
        elif info.status == INPUT_REQUIRED:
            detailed["inputRequests"] = info.input_requests or {}
        elif info.status == FAILED:
            detailed["error"] = {"code": info.error_code or types.INTERNAL_ERROR,
                                 "message": info.error or "failed (no reason kept)"}
        return detailed

    async def _tasks_update(self, ctx: ServerRequestContext, params: _UpdateParams
                            ) -> dict[str, Any]:
        info = await self._extension_task(ctx, params.task_id)
        if params.input_responses is not None:
            try:
                await self.store.respond(info.id, params.input_responses)
            except TaskError as error:
                raise MCPError(types.INVALID_PARAMS, str(error)) from None
        return {}

    async def _tasks_cancel(self, ctx: ServerRequestContext,
                            params: types.CancelTaskRequestParams) -> dict[str, Any]:
        info = await self._extension_task(ctx, params.task_id)
        if info.status not in FINISHED:
            with contextlib.suppress(TaskError):  # finished meanwhile: cancel is idempotent
                await self.store.cancel(info.id)
        return {}


class _UpdateParams(types.RequestParams):
    """tasks/update: the task and the answers to its input requests."""

    task_id: str
    input_responses: dict[str, Any] | None = None


def declares_tasks(ctx: ServerRequestContext) -> bool:
    """Whether this request's client declared the Tasks extension: on its connection (or,
    in the 2026 protocol, the request's envelope) or in this request's ``_meta``."""
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
        return False  # a task result cannot be delivered on a 2025-era connection
    capabilities = getattr(ctx.session, "client_capabilities", None)
    if capabilities is not None and TASKS_EXTENSION in (capabilities.extensions or {}):
        return True
    meta = ctx.meta if isinstance(ctx.meta, Mapping) else {}
    declared = meta.get(_CLIENT_CAPABILITIES)
    return isinstance(declared, dict) and TASKS_EXTENSION in (declared.get("extensions") or {})


def _require_tasks(ctx: ServerRequestContext) -> None:
    if not declares_tasks(ctx):
        raise MCPError(types.MISSING_REQUIRED_CLIENT_CAPABILITY,
                       f"tasks/* methods need the {TASKS_EXTENSION} extension: declare it in "
                       "the client capabilities",
                       data={"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}})


def _mcp_result(info: TaskInfo) -> dict[str, Any]:
    """A completed task's result as the CallToolResult its tools/call would have returned."""
    if info.kind == "tool":
        return dict(info.result or {})
    outcome = info.result or {}
    answer = outcome.get("answer")
    result = structured_result(outcome)
    if isinstance(answer, str) and answer:
        result["content"] = [{"type": "text", "text": answer}]
    return result


def _summary(info: TaskInfo) -> dict[str, Any]:
    return {"id": info.id, "kind": info.kind, "agent": info.agent, "status": info.status,
            "task": info.task[:200], "created_at": info.created_at,
            "updated_at": info.updated_at}


def _iso(epoch_ms: int | None) -> str:
    moment = datetime.datetime.fromtimestamp((epoch_ms or 0) / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
