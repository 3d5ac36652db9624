"""The calling loop: route → render → LLM → validate → execute → feed back, bounded and traced.

`Agent` is a plain async class whose steps are separate methods: `start` (route and render),
`ask` (one LLM turn) and `call_tool` (execute one validated call); validation and bookkeeping
are pure transitions of `toolnav.agent.state.RunState`. `drive` runs the steps in order and
takes the two side-effecting steps as arguments, so a durable engine (`toolnav.tasks`) can
wrap each in a checkpoint without changing the loop. `run` is the in-process driver.

Example:
    async with Agent(router, LLMSettings(base_url=url, model="qwen3"), executor=executor) as a:
        outcome = await a.run("convert 100 F to Celsius"); print(outcome.status, outcome.answer)
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import anyio

from toolnav._blocking import BlockingRunner
from toolnav.agent.state import PlannedCall, RunState
from toolnav.agent.trace import Tracer
from toolnav.config import LLMSettings
from toolnav.errors import ConfigError, LLMError
from toolnav.execute import Executor, ToolResult
from toolnav.llm import AssistantMessage, ChatClient, ChatModel
from toolnav.render import render_tools
from toolnav.route import ToolFilter
from toolnav.tool import Tool

__all__ = ["SYSTEM_PROMPT", "Agent", "AgentOutcome", "AgentParams", "BlockingAgent", "drive"]

SYSTEM_PROMPT = ("You answer the user's request, calling the provided tools when they help. "
                 "Use exactly the parameter names and types of each tool's schema. When a tool "
                 "call is rejected, read the error, fix the arguments and call again. When you "
                 "have the answer, reply in plain text without calling a tool.")
# A tool whose schema declares this parameter receives the key of the call (see `call_tool`).
IDEMPOTENCY_PARAMETER = "idempotency_key"

AskStep = Callable[[RunState], Awaitable[AssistantMessage]]
CallStep = Callable[[RunState, PlannedCall], Awaitable[dict[str, Any]]]


class _Routes(Protocol):
    def route(self, request: str, k: int = 5, **options: Any) -> Any: ...


class _Feedback(Protocol):
    def record_outcome(self, name: str, success: bool) -> Any: ...


class _Executes(Protocol):
    async def execute(self, tool: Tool, arguments: Mapping[str, Any]) -> ToolResult: ...


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
        trace_path: the JSONL trace of the run (None without a trace directory).
    """

    status: str
    answer: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    repairs: int = 0
    steps: int = 0
    trace_path: Path | None = None

    @classmethod
    def from_state(cls, state: RunState) -> AgentOutcome:
        """The outcome of a finished run."""
        return cls(state.status, state.answer, state.calls, state.repairs, state.turns,
                   Path(state.trace_path) if state.trace_path else None)


class Agent:
    """Runs requests through the calling loop; an async (or blocking) context manager.

    Args:
        router: anything with ``route(request, k, filters=...)`` returning a
            `toolnav.route.RouteResult`.
        llm: a `ChatModel`, or `LLMSettings` for an OpenAI-compatible endpoint (the agent
            then opens the client and closes it on exit).
        executor: runs the calls (an entered `toolnav.execute.Executor`); default: one the
            agent opens on entry and closes on exit (Python and HTTP tools; MCP tools need an
            executor that knows their servers, as `Agent.open` makes).
        trace_dir: where trace files go (usually ``<home>/traces``); None writes none.
        params: the run's bounds.
        feedback: a catalog to record each call's success in (``record_outcome``), or None.
        system_prompt: replaces `SYSTEM_PROMPT`.
        filters: which tools may be routed (an agent profile's tool scope).

    Raises:
        LLMError: *llm* is settings without an endpoint or model.
    """

    def __init__(self, router: _Routes, llm: ChatModel | LLMSettings, *,
                 executor: _Executes | None = None, trace_dir: Path | str | None = None,
                 params: AgentParams | None = None, feedback: _Feedback | None = None,
                 system_prompt: str | None = None, filters: ToolFilter | None = None) -> None:
        self.router = router
        self._exits = AsyncExitStack()  # what the agent opened, closed in reverse order
        if isinstance(llm, LLMSettings):
            llm = ChatClient(llm)
            self._exits.push_async_callback(llm.aclose)
        self.llm: ChatModel = llm
        self._own_executor = executor is None
        self.executor: _Executes = executor or Executor(_no_servers)
        self.trace_dir = Path(trace_dir) if trace_dir is not None else None
        self.params = params or AgentParams()
        self.feedback = feedback
        self.system_prompt = system_prompt or SYSTEM_PROMPT
        self.filters = filters

    @classmethod
    def open(cls, home: Path | str, *, base_url: str | None = None, model: str | None = None,
             api_key: str | None = None, llm: ChatModel | LLMSettings | None = None,
             embedder: Any = None, **options: Any) -> Agent:
        """An agent over the catalog in *home*, tracing to ``<home>/traces``.

        Args:
            home: a toolnav home with an indexed catalog.
            base_url, model, api_key: an OpenAI-compatible endpoint (or pass *llm*).
            llm: a `ChatModel` or `LLMSettings` instead of the three above.
            embedder: the catalog's embedder (default: the home's model).
            options: further `Agent` arguments (executor, params, system_prompt, filters).

        Raises:
            LLMError: no endpoint or model is given.
        """
        from toolnav.runtime import Toolnav

        toolnav = Toolnav.open(Path(home), embedder=embedder)
        own_executor = "executor" not in options
        try:
            if own_executor:
                options["executor"] = toolnav.executor()
            agent = cls(CurrentRouter(toolnav),
                        llm or LLMSettings(base_url=base_url, model=model, api_key=api_key),
                        trace_dir=toolnav.settings.home / "traces", feedback=toolnav.catalog,
                        **options)
        except BaseException:
            toolnav.close()
            raise
        agent._own_executor = own_executor  # made here: entered and closed by the agent
        agent._exits.callback(toolnav.close)
        return agent

    async def run(self, request: str) -> AgentOutcome:
        """Answer *request* with tools; see `AgentOutcome` for the ways a run ends.

        Raises:
            LLMError: the LLM endpoint failed (after its retries).
            ConfigError: the request is empty.
        """
        return await self.drive(await self.start(request))

    async def drive(self, state: RunState) -> AgentOutcome:
        """Take *state* (from `start`) to its end with this agent's own steps.

        Raises:
            LLMError: an LLM turn failed (after its retries).
        """
        return await drive(state, self.ask, self.call_tool)

    async def start(self, request: str) -> RunState:
        """Route *request*, render the tools and return the state before the first turn.

        Raises:
            ConfigError: the request is empty.
        """
        if not request.strip():
            raise ConfigError("the request is empty; say what you want done")
        tracer = Tracer.create(self.trace_dir)
        tracer.event("request", request=request, params=self.params.__dict__)
        tick = time.perf_counter()
        options = {"filters": self.filters} if self.filters is not None else {}
        result = await anyio.to_thread.run_sync(
            lambda: self.router.route(request, k=self.params.k, **options))
        tracer.event("route", abstained=result.abstained, ms=_ms(tick), candidates=[
            {"tool": c.tool.name, "score": round(c.score, 4), "rank": c.rank}
            for c in result.candidates])
        tools = [] if result.abstained else [c.tool for c in result.candidates]
        rendered = render_tools(tools, provider="openai", budget=self.params.token_budget)
        tracer.event("render", tools=[entry["function"]["name"] for entry in rendered.payload],
                     tokens=rendered.tokens, payload=rendered.payload)
        return RunState.new(request, self.system_prompt, rendered,
                            max_steps=self.params.max_steps, max_repairs=self.params.max_repairs,
                            allow_unknown=self.params.allow_unknown,
                            trace_path=str(tracer.path) if tracer.path else None)

    async def ask(self, state: RunState) -> AssistantMessage:
        """One LLM turn on *state*'s conversation (the state is not changed).

        Raises:
            LLMError: the model failed; the trace gets an ``error`` and an ``outcome`` event.
        """
        tracer = Tracer.resume(state.trace_path)
        tick = time.perf_counter()
        try:
            reply = await self.llm.complete(state.messages, state.payload or None)
        except LLMError as error:
            tracer.event("error", step=state.turns + 1, error=str(error), ms=_ms(tick))
            tracer.event("outcome", status="failed", answer=str(error), repairs=state.repairs,
                         steps=state.turns)
            raise
        tracer.event("llm", step=state.turns + 1, output=reply.to_message(), ms=_ms(tick))
        return reply

    async def call_tool(self, state: RunState, planned: PlannedCall,
                        idempotency_key: str | None = None) -> dict[str, Any]:
        """Execute one validated call and return its `ToolResult.to_dict`.

        Args:
            state: the run (for its trace).
            planned: the call.
            idempotency_key: passed as ``idempotency_key`` to a tool whose schema declares
                that parameter, so a retried call can be recognised by the tool.
        """
        arguments = planned.arguments
        if idempotency_key is not None and IDEMPOTENCY_PARAMETER in planned.tool.parameters():
            arguments = {**arguments, IDEMPOTENCY_PARAMETER: idempotency_key}
        result = await self.executor.execute(planned.tool, arguments)
        Tracer.resume(state.trace_path).event("execution", step=state.turns,
                                              result=result.to_dict())
        if self.feedback is not None:
            self.feedback.record_outcome(planned.tool.name, not result.is_error)
        return result.to_dict()

    async def aclose(self) -> None:
        """Close what the agent opened itself (LLM client, executor, runtime)."""
        await self._exits.aclose()

    async def __aenter__(self) -> Agent:
        if self._own_executor:
            await self._exits.enter_async_context(self.executor)  # type: ignore[arg-type]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __enter__(self) -> BlockingAgent:
        self._blocking = BlockingAgent(self)
        return self._blocking

    def __exit__(self, *exc_info: object) -> None:
        self._blocking.close()


async def drive(state: RunState, ask: AskStep, call: CallStep) -> AgentOutcome:
    """Take *state* to its end, running the two side-effecting steps through *ask* and *call*.

    `Agent.drive` passes the agent's own `Agent.ask` and `Agent.call_tool`; a durable engine
    passes checkpointed versions of them. Everything else is deterministic given their
    results, so replaying recorded results rebuilds the same state.

    Raises:
        LLMError: an LLM turn failed (after its retries).
    """
    tracer = Tracer.resume(state.trace_path)
    while (action := state.next_action()) != "done":
        if action == "ask":
            state.take_reply(await ask(state))
            continue
        planned = state.next_call()
        entry = state.log[-1]
        tracer.event("validation", step=state.turns,
                     **{key: value for key, value in entry.items() if key not in ("kind", "turn")})
        if planned is not None:
            state.take_result(planned, await call(state, planned))
    tracer.event("outcome", status=state.status, answer=state.answer, repairs=state.repairs,
                 steps=state.turns)
    return AgentOutcome.from_state(state)


class CurrentRouter:
    """Routes with a runtime's current router, so an agent follows catalog changes."""

    def __init__(self, toolnav: Any) -> None:
        self._toolnav = toolnav

    def route(self, request: str, k: int = 5, **options: Any) -> Any:
        """`toolnav.route.Router.route` on the router of the catalog as it is now."""
        return self._toolnav.router().route(request, k, **options)


def _no_servers(name: str) -> None:
    """Server lookup of an executor that knows no downstream MCP server."""
    return None


class BlockingAgent:
    """An `Agent` for synchronous code: ``with Agent(...) as agent: agent.run(request)``.

    The agent is entered and closed in one task on the runner's loop (its executor owns a
    task group there).

    Args:
        agent: the agent.
        runner: the loop to run on (e.g. the CLI's); by default a new one, stopped by `close`.
    """

    def __init__(self, agent: Agent, runner: BlockingRunner | None = None) -> None:
        self.agent = agent
        self._own_runner = runner is None
        self._runner = runner or BlockingRunner()
        self._entered = self._runner.wrap(agent)
        self._entered.__enter__()

    def run(self, request: str) -> AgentOutcome:
        """`Agent.run`, blocking."""
        return self._runner.call(self.agent.run, request)

    def close(self) -> None:
        """Close the agent's own resources on its loop, then stop the loop."""
        try:
            self._entered.__exit__(None, None, None)
        finally:
            if self._own_runner:
                self._runner.close()


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
