"""A tool asks its MCP client for input: `InputRequired`, the answers so far, request builders.

A tool that needs something only the client can give (its user's confirmation or a value, a
completion from its model, its roots) raises `InputRequired` with MCP input requests
(``elicitation/create``, ``sampling/createMessage``, ``roots/list``) keyed by ids it chooses.
The server (`toolnav.server`) turns that into an input-required result for a plain
``tools/call`` (MRTR, SEP-2322: the client answers and calls again), or, in a durable task,
parks the task in ``input_required`` until ``tasks/update`` delivers the answers (the wait is
a DBOS message, so it survives a restart). Either way the tool is then called again with the
same arguments: `input_responses` gives the answers (in a task, every answer so far), and
`request_state` the opaque state it put in `InputRequired` (sealed by the server on the wire).
`client_can` says whether the client declared it can answer a kind of request. The executor
(`toolnav.execute`) sets the answers around each call; this module only holds them.

A tool tagged ``task:input-first`` (with ``task:optional`` or ``task:required``) gathers its
input on the plain ``tools/call`` first and only then becomes a durable task: once it has its
answers it calls `continue_as_task`, which (in a call that may become a task) raises
`ContinueAsTask`; the server then creates the task, which calls the tool again with the
answers gathered so far, and there `continue_as_task` returns. Code before that call runs
twice, so it must not have side effects.

`InputRequired` and `ContinueAsTask` are signals, like `StopIteration`, not errors: they
derive from `Exception`, not from `toolnav.errors.ToolnavError`.

Example:
    answer = input_responses().get("confirm")
    if answer is None:
        raise InputRequired({"confirm": elicitation("Delete x.txt?", {"type": "object"})})
"""

from __future__ import annotations

import contextlib
import contextvars
import types
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CAPABILITY_OF", "ContinueAsTask", "InputRequired", "answering", "client_can",
           "continue_as_task", "elicitation", "input_responses", "list_roots", "request_state",
           "sampling"]

# The client capability that answers each kind of input request.
CAPABILITY_OF = {"elicitation/create": "elicitation", "sampling/createMessage": "sampling",
                 "roots/list": "roots"}


class InputRequired(Exception):
    """Raised by a tool that needs input from the client before it can answer.

    Args:
        requests: MCP input requests by id (``{"method": ..., "params": ...}``; see
            `elicitation`, `sampling`, `list_roots`); at least one.
        state: opaque text given back by `request_state` when the tool is called again.
    """

    def __init__(self, requests: Mapping[str, Mapping[str, Any]], state: str | None = None
                 ) -> None:
        if not requests:
            raise ValueError("InputRequired needs at least one input request")
        for key, request in requests.items():
            if not isinstance(request, Mapping) or request.get("method") not in CAPABILITY_OF:
                raise ValueError(f"input request {key!r} must be a mapping with a method among "
                                 f"{', '.join(CAPABILITY_OF)}")
        super().__init__(dict(requests), state)
        self.requests = {key: dict(request) for key, request in requests.items()}
        self.state = state

    def __str__(self) -> str:
        return f"the tool needs input from the client: {', '.join(sorted(self.requests))}"


class ContinueAsTask(Exception):
    """Raised by `continue_as_task` when the call should go on as a durable task."""

    def __str__(self) -> str:
        return "the tool has gathered its input and continues as a task"


@dataclass(frozen=True)
class _Answers:
    responses: Mapping[str, Any]
    state: str | None = None
    capabilities: frozenset[str] | None = None  # None: unknown (assume every kind)
    may_become_task: bool = False


_NONE = _Answers(types.MappingProxyType({}))
_current: contextvars.ContextVar[_Answers] = contextvars.ContextVar("toolnav_input",
                                                                   default=_NONE)


@contextlib.contextmanager
def answering(responses: Mapping[str, Any] | None, state: str | None = None,
              capabilities: Collection[str] | None = None, *,
              may_become_task: bool = False) -> Iterator[None]:
    """Make *responses* and *state* what the tool called inside this block sees (the
    executor's job); *capabilities*: the client capabilities declared (None: unknown);
    *may_become_task*: the server would turn this call into a task (see `continue_as_task`)."""
    token = _current.set(_Answers(dict(responses or {}), state,
                                  frozenset(capabilities) if capabilities is not None else None,
                                  may_become_task))
    try:
        yield
    finally:
        _current.reset(token)


def input_responses() -> dict[str, Any]:
    """The client's answers to this tool's input requests, by request id (empty at first)."""
    return dict(_current.get().responses)


def request_state() -> str | None:
    """The state the tool put in its last `InputRequired`, or None."""
    return _current.get().state


def client_can(method: str) -> bool:
    """Whether the client declared the capability that answers *method* requests
    (``elicitation/create``, ``sampling/createMessage``, ``roots/list``); True if unknown."""
    capabilities = _current.get().capabilities
    return capabilities is None or CAPABILITY_OF.get(method) in capabilities


def continue_as_task() -> None:
    """Go on as a durable task from here: in a plain call the server may turn into a task (a
    ``task:input-first`` tool, a client that declared the Tasks extension) raise
    `ContinueAsTask`, and the server creates a task that calls the tool again with the answers
    gathered so far; anywhere else (in that task, or a call that cannot become one) return,
    and the tool goes on where it is.

    Raises:
        ContinueAsTask: the call may become a task.
    """
    if _current.get().may_become_task:
        raise ContinueAsTask


def elicitation(message: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """An ``elicitation/create`` request: ask the user *message*, the answer fitting *schema*
    (a flat object schema). The answer is ``{"action": "accept", "content": {...}}`` (or
    ``decline`` / ``cancel``)."""
    return {"method": "elicitation/create",
            "params": {"message": message, "requestedSchema": dict(schema)}}


def sampling(prompt: str, max_tokens: int = 1000, system: str | None = None) -> dict[str, Any]:
    """A ``sampling/createMessage`` request: the client's model answers *prompt*. The answer
    carries ``role``, ``content`` (``{"type": "text", "text": ...}``) and ``model``."""
    params: dict[str, Any] = {"messages": [{"role": "user",
                                            "content": {"type": "text", "text": prompt}}],
                              "maxTokens": max_tokens}
    if system:
        params["systemPrompt"] = system
    return {"method": "sampling/createMessage", "params": params}


def list_roots() -> dict[str, Any]:
    """A ``roots/list`` request: the answer is ``{"roots": [{"uri": ..., "name": ...}]}``."""
    return {"method": "roots/list", "params": {}}
