"""The DBOS workflow of one task: the agent loop with its LLM and tool calls as checkpointed steps.

The engine's decorators stay in this module: `toolnav.agent.Agent` knows nothing of DBOS. The
workflow records three kinds of step (and the two below), each output stored before the next
step begins: ``toolnav.start`` (route and render: the initial `RunState`), ``toolnav.llm``
(one reply) and ``toolnav.tool`` (one tool result). Between steps the loop is deterministic,
so after a crash DBOS replays the recorded outputs and continues after the last completed
step; a tool step that was interrupted runs again with the same idempotency key (workflow id
and step number). The live agents a worker serves are registered here by `toolnav.tasks.worker`.
A task whose client can answer questions offers its agent the built-in ``ask_user`` tool
(`toolnav.tasks.ask_user`): a call of it waits for the client's answer as described below for
tool tasks, and the answer, recorded as a ``toolnav.ask_user`` step, is the call's result.
An agent whose model is the client's (`toolnav.tasks.sampling`) asks the same way for each LLM
turn, with a ``sampling/createMessage`` request; the reply is recorded as a ``toolnav.sampled``
step.

A second workflow, ``toolnav.tool_task``, runs one tool call as a task (the MCP server's answer
to a tools/call of a task-capable tool): a ``toolnav.tool_task.call`` step through the
`ToolRunner` the worker registers. When the tool asks the client for input (the runner returns
an ``input_required`` result, see `toolnav.inputs`), the workflow publishes the pending
requests as the DBOS event `INPUT_EVENT` (the task is then ``input_required``), waits for the
answers as DBOS messages on `INPUT_TOPIC` (``tasks/update``; answers may come a few at a time),
and calls the tool again with every answer so far. Both the event and the messages are durable,
so a task waiting for input survives a restart and resumes when the answers arrive.

Example:
    register_agents({"agent-1": agent}); await queue.enqueue_async(run_task, "agent-1", text, {})
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from dbos import DBOS

from toolnav.agent import Agent, RunState
from toolnav.agent.loop import drive
from toolnav.agent.state import PlannedCall
from toolnav.errors import TaskError, TaskFailed
from toolnav.llm import AssistantMessage
from toolnav.tasks.ask_user import (
    answer_result,
    is_ask_user,
    offer_ask_user,
    question_request,
    request_id,
)
from toolnav.tasks.sampling import sampled_message, sampling_request, uses_sampling

__all__ = ["ASK_USER_STEP", "INPUT_EVENT", "INPUT_TIMEOUT_SECONDS", "INPUT_TOPIC", "LLM_STEP",
           "MAX_RECOVERY_ATTEMPTS", "SAMPLED_STEP", "START_STEP", "TOOL_STEP", "TOOL_TASK_STEP",
           "TOOL_WORKFLOW_NAME", "WORKFLOW_NAME", "ToolRunner", "register_agents",
           "register_tool_runner", "replay", "run_task", "run_tool_task"]

WORKFLOW_NAME = "toolnav.task"
TOOL_WORKFLOW_NAME = "toolnav.tool_task"
START_STEP, LLM_STEP, TOOL_STEP = "toolnav.start", "toolnav.llm", "toolnav.tool"
ASK_USER_STEP, SAMPLED_STEP = "toolnav.ask_user", "toolnav.sampled"
TOOL_TASK_STEP = "toolnav.tool_task.call"

INPUT_EVENT, INPUT_TOPIC = "toolnav.input_requests", "toolnav.input_responses"
# A task waits this long for the answers to its input requests, then fails.
INPUT_TIMEOUT_SECONDS = 24 * 3600.0

# Runs one tool call for a tool task: (tool name, arguments, idempotency key, answers to its
# input requests so far, its request state) -> the MCP CallToolResult as plain data, or an
# input-required result ({"resultType": "input_required", "inputRequests", "requestState"?});
# raises toolnav.errors.TaskFailed when the server cannot run it.
ToolRunner = Callable[[str, dict[str, Any], str, dict[str, Any], str | None],
                      Awaitable[dict[str, Any]]]
# A task whose worker died this many times while running it is failed, not resumed again.
MAX_RECOVERY_ATTEMPTS = 10

_agents: dict[str, Agent] = {}
_tool_runner: list[ToolRunner] = []


def register_agents(agents: Mapping[str, Agent]) -> None:
    """Make *agents* the ones this process's workflows run (replaces any earlier set)."""
    _agents.clear()
    _agents.update(agents)


def register_tool_runner(runner: ToolRunner | None) -> None:
    """Make *runner* the one this process's tool tasks call (None: no tool tasks)."""
    _tool_runner.clear()
    if runner is not None:
        _tool_runner.append(runner)


def _agent(name: str) -> Agent:
    try:
        return _agents[name]
    except KeyError:
        raise TaskError(f"agent {name!r} is not served by this worker; it serves "
                        f"{', '.join(sorted(_agents)) or 'no agents'}") from None


def _step_key() -> str:
    """The idempotency key of the running step: the same when the step is run again."""
    return f"{DBOS.workflow_id}:{DBOS.step_id}"


@DBOS.step(name=START_STEP)
async def _start(agent_name: str, text: str, can_ask: bool) -> dict[str, Any]:
    state = await _agent(agent_name).start(text)
    if can_ask:
        offer_ask_user(state)
    return state.to_dict()


# Preemptible: cancelling the task cancels a model call in flight (it has no side effects).
@DBOS.step(name=LLM_STEP, preemptible=True)
async def _ask(agent_name: str, state: RunState) -> dict[str, Any]:
    return (await _agent(agent_name).ask(state)).to_message()


@DBOS.step(name=TOOL_STEP)
async def _call(agent_name: str, state: RunState, planned: PlannedCall) -> dict[str, Any]:
    return await _agent(agent_name).call_tool(state, planned, idempotency_key=_step_key())


@DBOS.step(name=ASK_USER_STEP)
async def _answered(answer: Any) -> dict[str, Any]:
    return answer_result(answer)


@DBOS.step(name=SAMPLED_STEP)
async def _sampled(answer: Any) -> dict[str, Any]:
    return sampled_message(answer)


@DBOS.workflow(name=WORKFLOW_NAME, max_recovery_attempts=MAX_RECOVERY_ATTEMPTS)
async def run_task(agent_name: str, text: str, metadata: dict[str, Any] | None,
                   can_ask: bool = False) -> dict[str, Any]:
    """Run *text* through agent *agent_name* (offering it ``ask_user`` if the client *can
    ask*: answer questions); returns the outcome as plain data."""
    state = RunState.from_dict(await _start(agent_name, text, can_ask))

    async def ask(current: RunState) -> AssistantMessage:
        if uses_sampling(_agent(agent_name)):
            key = f"llm_{current.turns + 1}"
            answers = await _wait_for_input({key: sampling_request(current.messages,
                                                                   current.payload)})
            return AssistantMessage.from_message(await _sampled(answers[key]))
        return AssistantMessage.from_message(await _ask(agent_name, current))

    async def call(current: RunState, planned: PlannedCall) -> dict[str, Any]:
        if is_ask_user(planned.tool):
            key = request_id(current)
            answers = await _wait_for_input(
                {key: question_request(planned.arguments["question"])})
            return await _answered(answers[key])
        return await _call(agent_name, current, planned)

    outcome = await drive(state, ask, call)
    return {"status": outcome.status, "answer": outcome.answer, "calls": outcome.calls,
            "repairs": outcome.repairs, "steps": outcome.steps,
            "trace_path": str(outcome.trace_path) if outcome.trace_path else None}


# Preemptible: cancelling the task stops the call (MCP cancellation is cooperative).
@DBOS.step(name=TOOL_TASK_STEP, preemptible=True)
async def _run_tool(tool_name: str, arguments: dict[str, Any], responses: dict[str, Any],
                    state: str | None) -> dict[str, Any]:
    if not _tool_runner:
        raise TaskError("this worker runs no tool tasks (it was started without a tool runner)")
    return await _tool_runner[0](tool_name, arguments, _step_key(), responses, state)


@DBOS.workflow(name=TOOL_WORKFLOW_NAME, max_recovery_attempts=MAX_RECOVERY_ATTEMPTS)
async def run_tool_task(tool_name: str, arguments: dict[str, Any],
                        metadata: dict[str, Any] | None,
                        gathered: dict[str, Any] | None = None,
                        gathered_state: str | None = None) -> dict[str, Any]:
    """Call tool *tool_name* with *arguments*, asking the client for input as often as the
    tool needs (starting with the answers it *gathered* before it became a task, and their
    state); returns its MCP result as plain data."""
    responses: dict[str, Any] = dict(gathered or {})
    state: str | None = gathered_state
    while True:
        result = await _run_tool(tool_name, arguments, responses, state)
        if result.get("resultType") != "input_required":
            return result
        responses.update(await _wait_for_input(result.get("inputRequests") or {}))
        state = result.get("requestState")


async def _wait_for_input(requests: dict[str, Any]) -> dict[str, Any]:
    """Publish *requests* as pending, collect answers until none is pending; the answers."""
    if not requests:
        raise TaskFailed("the tool asked for input without any input request", -32603)
    pending, answers = dict(requests), {}
    await DBOS.set_event_async(INPUT_EVENT, pending)
    while pending:
        message = await DBOS.recv_async(INPUT_TOPIC, timeout_seconds=INPUT_TIMEOUT_SECONDS)
        if message is None:
            raise TaskFailed(f"no answer to the input requests {', '.join(sorted(pending))} "
                             f"within {INPUT_TIMEOUT_SECONDS:g} s", -32603)
        for key, answer in dict(message).items():
            if key in pending:  # answers to requests not (or no longer) pending are ignored
                answers[key] = answer
                del pending[key]
        await DBOS.set_event_async(INPUT_EVENT, pending)
    return answers


# The steps a replay reads (the engine also records its own operations: events, messages).
_REPLAYED = frozenset({START_STEP, LLM_STEP, TOOL_STEP, ASK_USER_STEP, SAMPLED_STEP})


class _Exhausted(Exception):
    """The recorded steps ran out: the run is this far."""


async def replay(outputs: list[tuple[str, Any]]) -> RunState | None:
    """Rebuild a task's state from its recorded step outputs (name, output) in order.

    Returns None when the task has not finished its first step.
    """
    outputs = [(name, output) for name, output in outputs if name in _REPLAYED]
    if not outputs or outputs[0][0] != START_STEP:
        return None
    state = RunState.from_dict(outputs[0][1])
    state.trace_path = None  # a replay must not write to the run's trace
    rest = iter(outputs[1:])

    def recorded(*kinds: str) -> Any:
        name, output = next(rest, (None, None))
        if name not in kinds:
            raise _Exhausted
        return output

    async def ask(current: RunState) -> AssistantMessage:
        return AssistantMessage.from_message(recorded(LLM_STEP, SAMPLED_STEP))

    async def call(current: RunState, planned: PlannedCall) -> dict[str, Any]:
        return recorded(ASK_USER_STEP if is_ask_user(planned.tool) else TOOL_STEP)

    with contextlib.suppress(_Exhausted):
        await drive(state, ask, call)
    return state
