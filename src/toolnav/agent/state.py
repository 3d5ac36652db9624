"""The state of one agent run as plain data, and the pure transitions between its steps.

A run alternates two side effects, an LLM turn and a tool call; everything between them
(taking a reply, validating the next call, counting repairs, taking a result, deciding what
comes next) is a pure method here, so a durable engine can record each side effect's output
and rebuild the same state by replaying them. The side effects live in `toolnav.agent.loop`.

Example:
    state = RunState.new("add 2 and 3", SYSTEM_PROMPT, rendered, AgentParams())
    while (action := state.next_action()) != "done": ...   # "ask" or "call"
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from toolnav.errors import ToolNotFound, ValidationFailed
from toolnav.llm import AssistantMessage
from toolnav.render import NameMap, RenderedTools
from toolnav.tool import Tool
from toolnav.validate import validate_arguments

__all__ = ["RUNNING", "PlannedCall", "RunState"]

RUNNING = "running"


@dataclass(frozen=True)
class PlannedCall:
    """A validated call, ready to execute: the model's call id, the tool and its arguments."""

    call_id: str
    tool: Tool
    arguments: dict[str, Any]


@dataclass
class RunState:
    """Everything a run knows, JSON-serialisable (`to_dict` / `from_dict`).

    Attributes:
        request: the user's request.
        messages: the conversation so far, in OpenAI chat format.
        payload: the rendered tool definitions offered to the model.
        tools: the offered tools (`Tool.to_dict`), for validation.
        names: provider-safe name -> catalog name of each offered tool.
        max_steps, max_repairs, allow_unknown: the run's bounds (from `AgentParams`).
        pending: tool calls of the last reply not yet validated (`to_message` form).
        calls: executed calls: tool, arguments, result.
        repairs: invalid calls answered with an error.
        turns: LLM turns taken.
        status: ``running``, then ``answered``, ``repairs_exhausted`` or ``step_limit``.
        answer: the final text, or why there is none.
        log: one entry per turn, validation and execution: the run's progress for a reader.
        trace_path: the run's JSONL trace, if it has one.
    """

    request: str
    messages: list[dict[str, Any]]
    payload: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    names: dict[str, str]
    max_steps: int
    max_repairs: int
    allow_unknown: bool = False
    pending: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    repairs: int = 0
    turns: int = 0
    status: str = RUNNING
    answer: str = ""
    log: list[dict[str, Any]] = field(default_factory=list)
    trace_path: str | None = None

    @classmethod
    def new(cls, request: str, system_prompt: str, rendered: RenderedTools, *, max_steps: int,
            max_repairs: int, allow_unknown: bool = False,
            trace_path: str | None = None) -> RunState:
        """The state before the first LLM turn."""
        return cls(request=request,
                   messages=[{"role": "system", "content": system_prompt},
                             {"role": "user", "content": request}],
                   payload=rendered.payload, tools=[tool.to_dict() for tool in rendered.tools],
                   names={rendered.names.provider_name(tool.name): tool.name
                          for tool in rendered.tools},
                   max_steps=max_steps, max_repairs=max_repairs, allow_unknown=allow_unknown,
                   trace_path=trace_path)

    def to_dict(self) -> dict[str, Any]:
        """The state as plain data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        """Rebuild a state from `to_dict` output."""
        return cls(**data)

    def next_action(self) -> str:
        """``ask`` (an LLM turn), ``call`` (validate and run a pending call) or ``done``."""
        if self.status != RUNNING:
            return "done"
        if self.pending:
            return "call"
        if self.turns >= self.max_steps:
            self._finish("step_limit", f"no final answer within {self.max_steps} LLM turns; "
                                       "raise max_steps or simplify the request")
            return "done"
        return "ask"

    def take_reply(self, reply: AssistantMessage) -> None:
        """Record one LLM turn: text ends the run, tool calls become pending."""
        self.turns += 1
        message = reply.to_message()
        self.messages.append(message)
        self.pending = list(message.get("tool_calls", []))
        self.log.append({"kind": "llm", "turn": self.turns, "content": reply.content,
                         "tool_calls": [call.name for call in reply.tool_calls]})
        if not reply.tool_calls:
            self._finish("answered", reply.content or "")

    def next_call(self) -> PlannedCall | None:
        """Validate the first pending call; None when it was invalid (answered or fatal).

        An invalid call is answered with the validator's message (a repair) until
        ``max_repairs`` repairs were spent; then the run ends as ``repairs_exhausted``.
        """
        call = self.pending.pop(0)
        name, raw = call["function"]["name"], call["function"]["arguments"]
        try:
            tool = self._tool(name)
            arguments = validate_arguments(tool, raw, allow_unknown=self.allow_unknown)
        except (ValidationFailed, ToolNotFound) as error:
            self.log.append({"kind": "validation", "turn": self.turns, "tool": name,
                             "ok": False, "arguments": raw, "error": str(error),
                             "issues": getattr(error, "issues", [])})
            if self.repairs >= self.max_repairs:
                self.pending.clear()
                self._finish("repairs_exhausted",
                             f"gave up: the call to {name!r} was still invalid after "
                             f"{self.repairs} repair(s): {error}")
                return None
            self.repairs += 1
            self.messages.append(_tool_message(call["id"], str(error)))
            return None
        self.log.append({"kind": "validation", "turn": self.turns, "tool": tool.name,
                         "ok": True, "arguments": arguments})
        return PlannedCall(call["id"], tool, arguments)

    def take_result(self, planned: PlannedCall, result: dict[str, Any]) -> None:
        """Record an executed call (*result* is `ToolResult.to_dict` output)."""
        self.calls.append({"tool": planned.tool.name, "arguments": planned.arguments,
                           "result": result})
        self.log.append({"kind": "execution", "turn": self.turns, "tool": planned.tool.name,
                         "is_error": result["is_error"], "content": result["content"]})
        content = result["content"]
        self.messages.append(_tool_message(
            planned.call_id, f"Tool error: {content}" if result["is_error"] else content))

    def _tool(self, provider_name: str) -> Tool:
        name = NameMap("openai", to_tool=self.names).tool_name(provider_name)
        for data in self.tools:
            if data["name"] == name:
                return Tool.from_dict(data, trusted=True)
        raise ToolNotFound(f"the model called {provider_name!r}, which is not offered now")

    def _finish(self, status: str, answer: str) -> None:
        self.status, self.answer = status, answer


def _tool_message(call_id: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}
