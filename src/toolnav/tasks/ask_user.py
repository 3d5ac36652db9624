"""The built-in `ask_user` tool: an agent task asks the client that submitted it a question.

When a task comes from an MCP client that can answer elicitation, its agent is offered
`ASK_USER` beside the routed tools (`offer_ask_user`). The task workflow
(`toolnav.tasks._workflow`) never executes it: it turns the call into an
``elicitation/create`` input request (`question_request`), waits in ``input_required`` for the
answer (tasks/update, or the ``respond_task`` tool), and gives the answer to the model as the
tool's result (`answer_result`). This module holds only these pure pieces.

Example:
    offer_ask_user(state)
    requests = {request_id(state): question_request(planned.arguments["question"])}
    result = answer_result(answers[key])
"""

from __future__ import annotations

from typing import Any

from toolnav.agent.state import RunState
from toolnav.inputs import elicitation
from toolnav.render import render_tools
from toolnav.tool import Tool

__all__ = ["ANSWER_FIELD", "ASK_USER", "answer_result", "is_ask_user", "offer_ask_user",
           "question_request", "request_id"]

ANSWER_FIELD = "answer"
ASK_USER = Tool(
    name="ask_user",
    description=("Ask the user who gave you this task a question and wait for the answer. "
                 "Use it only when the task cannot be done without information or a decision "
                 "only the user has."),
    input_schema={"type": "object",
                  "properties": {"question": {"type": "string", "minLength": 1,
                                              "description": "The question, in one or two "
                                              "sentences."}},
                  "required": ["question"], "additionalProperties": False},
)
_ANSWER_SCHEMA = {"type": "object",
                  "properties": {ANSWER_FIELD: {"type": "string", "description": "Your answer"}},
                  "required": [ANSWER_FIELD]}


def offer_ask_user(state: RunState) -> None:
    """Add `ASK_USER` to the tools *state* offers the model (unless a tool of that name is
    offered already)."""
    if ASK_USER.name in state.names.values():
        return
    rendered = render_tools([ASK_USER], provider="openai")
    state.payload.append(rendered.payload[0])
    state.tools.append(ASK_USER.to_dict())
    state.names[rendered.names.provider_name(ASK_USER.name)] = ASK_USER.name


def is_ask_user(tool: Tool) -> bool:
    """Whether *tool* is the built-in `ASK_USER` (not a catalog tool of that name: those have
    a binding)."""
    return tool.name == ASK_USER.name and not tool.binding


def request_id(state: RunState) -> str:
    """The input request id of the next question in this run (unique within the run)."""
    return f"ask_user_{len(state.calls) + 1}"


def question_request(question: str) -> dict[str, Any]:
    """The ``elicitation/create`` request asking *question* (a one-field text answer)."""
    return elicitation(question, _ANSWER_SCHEMA)


def answer_result(answer: Any) -> dict[str, Any]:
    """The client's elicitation answer as the tool result the model sees (the shape of
    `toolnav.execute.ToolResult.to_dict`): the text of an accepted answer, else an error
    saying the user declined or cancelled."""
    action = answer.get("action") if isinstance(answer, dict) else None
    content = answer.get("content") if isinstance(answer, dict) else None
    if action == "accept" and isinstance(content, dict):
        text, is_error = str(content.get(ANSWER_FIELD, "")), False
    else:
        text, is_error = (f"the user did not answer (they chose {action or 'nothing'}); go "
                          "on without it or say what you need"), True
    return {"tool": ASK_USER.name, "is_error": is_error, "content": text, "truncated": False,
            "seconds": 0.0}
