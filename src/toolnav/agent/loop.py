"""The calling loop: route → render → LLM → validate → execute → feed back, bounded and traced.

Each run routes the request to a few tools, renders them for the model within a token budget,
and lets the model call them. Invalid calls are answered with the validator's message so the
model can repair them, at most ``max_repairs`` times; tool failures are fed back as tool
errors. When the router abstains, no tools are offered and the model answers on its own.
Every step is appended to a JSONL trace (one file per run under ``trace_dir``).

Example:
    agent = Agent(router, llm, trace_dir=home / "traces", executor=executor)
    outcome = await agent.run("convert 100 F to Celsius"); print(outcome.status, outcome.answer)
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread

from toolnav.errors import ConfigError, ToolNotFound, ValidationFailed
from toolnav.execute import Executor, ToolResult
from toolnav.llm import AssistantMessage, ChatClient, ToolCall
from toolnav.render import RenderedTools, render_tools
from toolnav.validate import validate_arguments

__all__ = ["Agent", "AgentOutcome", "AgentParams", "Tracer"]

SYSTEM_PROMPT = ("You answer the user's request, calling the provided tools when they help. "
                 "Use exactly the parameter names and types of each tool's schema. When a tool "
                 "call is rejected, read the error, fix the arguments and call again. When you "
                 "have the answer, reply in plain text without calling a tool.")


class _Routes(Protocol):
    def route(self, request: str, k: int = 5) -> Any: ...


class _Feedback(Protocol):
    def record_outcome(self, name: str, success: bool) -> Any: ...


@dataclass(frozen=True)
class AgentParams:
    """Bounds of one run.

    Args:
        k: tools routed per request (the budget may keep fewer).
        token_budget: estimated prompt tokens allowed for the tool definitions.
        max_repairs: invalid calls answered with an error before the run gives up.
        max_steps: LLM turns per run.
        allow_unknown: accept arguments the schema does not declare.
    """

    k: int = 5
    token_budget: int = 3000
    max_repairs: int = 2
    max_steps: int = 8
    allow_unknown: bool = False

    def __post_init__(self) -> None:
        if self.k < 1 or self.token_budget < 1 or self.max_steps < 1 or self.max_repairs < 0:
            raise ConfigError("AgentParams: k, token_budget and max_steps must be >= 1 and "
                              f"max_repairs >= 0, got {self}")


@dataclass
class AgentOutcome:
    """How a run ended.

    Attributes:
        status: ``answered`` (the model replied in text), ``repairs_exhausted`` (a call was
            still invalid after ``max_repairs`` repairs) or ``step_limit`` (no answer within
            ``max_steps`` LLM turns).
        answer: the model's final text, or a sentence saying why there is none.
        calls: every executed call: tool, arguments and result.
        repairs: invalid calls answered with an error.
        steps: LLM turns taken.
        trace_path: the JSONL trace of the run.
    """

    status: str
    answer: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    repairs: int = 0
    steps: int = 0
    trace_path: Path | None = None


class Tracer:
    """Appends one JSON object per event to a trace file, stamped with time and run id."""

    def __init__(self, trace_dir: Path) -> None:
        self.run_id = uuid.uuid4().hex[:12]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        trace_dir.mkdir(parents=True, exist_ok=True)
        self.path = trace_dir / f"{stamp}-{self.run_id}.jsonl"

    def event(self, kind: str, **data: Any) -> None:
        """Record one event (*data* must be JSON-serialisable; others are stringified)."""
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                  "run": self.run_id, "event": kind, **data}
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


class Agent:
    """Runs requests through the calling loop.

    Args:
        router: anything with ``route(request, k)`` returning a `toolnav.route.RouteResult`.
        llm: the chat client.
        trace_dir: where trace files go (usually ``<toolnav home>/traces``).
        executor: runs the calls (an open `toolnav.execute.Executor`).
        params: the run's bounds.
        feedback: a catalog to record each call's success in (``record_outcome``), or None.
    """

    def __init__(self, router: _Routes, llm: ChatClient, *, trace_dir: Path,
                 executor: Executor, params: AgentParams | None = None,
                 feedback: _Feedback | None = None) -> None:
        self.router = router
        self.llm = llm
        self.trace_dir = Path(trace_dir)
        self.executor = executor
        self.params = params or AgentParams()
        self.feedback = feedback

    async def run(self, request: str) -> AgentOutcome:
        """Answer *request* with tools; see `AgentOutcome` for the ways a run ends.

        Raises:
            LLMError: the LLM endpoint failed (after its retries).
            ConfigError: the request is empty.
        """
        if not request.strip():
            raise ConfigError("the request is empty; say what you want done")
        tracer = Tracer(self.trace_dir)
        started = time.perf_counter()
        tracer.event("request", request=request, params=self.params.__dict__)
        rendered = self._route_and_render(request, tracer)
        messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT},
                                          {"role": "user", "content": request}]
        outcome = AgentOutcome(status="step_limit", answer="", trace_path=tracer.path)
        for step in range(1, self.params.max_steps + 1):
            outcome.steps = step
            tick = time.perf_counter()
            # The chat client blocks; a worker thread keeps the loop (and downstream sessions)
            # serving meanwhile.
            reply = await anyio.to_thread.run_sync(self.llm.complete, messages,
                                                   rendered.payload or None)
            tracer.event("llm", step=step, output=reply.to_message(), ms=_ms(tick))
            messages.append(reply.to_message())
            if not reply.tool_calls:
                outcome.status, outcome.answer = "answered", reply.content or ""
                break
            if await self._handle_calls(reply, rendered, messages, outcome, tracer, step):
                break
        else:
            outcome.answer = (f"no final answer within {self.params.max_steps} LLM turns; "
                              "raise max_steps or simplify the request")
        tracer.event("outcome", status=outcome.status, answer=outcome.answer,
                     repairs=outcome.repairs, steps=outcome.steps, ms=_ms(started))
        return outcome

    def _route_and_render(self, request: str, tracer: Tracer) -> RenderedTools:
        tick = time.perf_counter()
        result = self.router.route(request, k=self.params.k)
        tracer.event("route", abstained=result.abstained, ms=_ms(tick), candidates=[
            {"tool": c.tool.name, "score": round(c.score, 4), "rank": c.rank}
            for c in result.candidates])
        tools = [] if result.abstained else [c.tool for c in result.candidates]
        rendered = render_tools(tools, provider="openai", budget=self.params.token_budget)
        tracer.event("render", tools=[entry["function"]["name"] for entry in rendered.payload],
                     tokens=rendered.tokens, payload=rendered.payload)
        return rendered

    async def _handle_calls(self, reply: AssistantMessage, rendered: RenderedTools,
                            messages: list[dict[str, Any]], outcome: AgentOutcome,
                            tracer: Tracer, step: int) -> bool:
        """Validate and execute each call, appending tool messages; True when the run stops."""
        for call in reply.tool_calls:
            try:
                tool, arguments = self._validated(call, rendered)
            except (ValidationFailed, ToolNotFound) as error:
                issues = getattr(error, "issues", [])
                tracer.event("validation", step=step, tool=call.name, ok=False,
                             arguments=call.arguments, error=str(error), issues=issues)
                if outcome.repairs >= self.params.max_repairs:
                    outcome.status = "repairs_exhausted"
                    outcome.answer = (f"gave up: the call to {call.name!r} was still invalid "
                                      f"after {outcome.repairs} repair(s): {error}")
                    return True
                outcome.repairs += 1
                messages.append(_tool_message(call, str(error)))
                continue
            tracer.event("validation", step=step, tool=tool.name, ok=True, arguments=arguments)
            result = await self.executor.execute(tool, arguments)
            tracer.event("execution", step=step, result=result.to_dict())
            outcome.calls.append({"tool": tool.name, "arguments": arguments,
                                  "result": result.to_dict()})
            if self.feedback is not None:
                self.feedback.record_outcome(tool.name, not result.is_error)
            messages.append(_tool_message(call, _result_text(result)))
        return False

    def _validated(self, call: ToolCall, rendered: RenderedTools) -> tuple[Any, dict[str, Any]]:
        name = rendered.names.tool_name(call.name)
        tool = next((tool for tool in rendered.tools if tool.name == name), None)
        if tool is None:  # offered in an earlier render that shared the name map
            raise ToolNotFound(f"the model called {call.name!r}, which is not offered now")
        return tool, validate_arguments(tool, call.arguments,
                                        allow_unknown=self.params.allow_unknown)


def _tool_message(call: ToolCall, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call.id, "content": content}


def _result_text(result: ToolResult) -> str:
    return f"Tool error: {result.content}" if result.is_error else result.content


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
