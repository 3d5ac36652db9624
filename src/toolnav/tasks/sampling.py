"""Agents whose model is the client's: each LLM turn of a task as an MCP sampling request.

An agent profile with ``llm = "sampling"`` has no endpoint of its own: its agent holds a
`ClientModel`, and the task workflow (`toolnav.tasks._workflow`) turns each of its LLM turns
into a ``sampling/createMessage`` input request of the task (`sampling_request`: the
conversation with tool uses and tool results as MCP content blocks, the offered tools as MCP
tools), waits in ``input_required`` for the client's answer (tasks/update or
``respond_task``), and reads the answer back as the model's reply (`sampled_message`). This
module holds only these translations.

Example:
    request = sampling_request(state.messages, state.payload)
    reply = AssistantMessage.from_message(sampled_message(answer))
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from toolnav.agent import Agent
from toolnav.errors import LLMError, TaskFailed
from toolnav.llm import AssistantMessage

__all__ = ["DEFAULT_MAX_TOKENS", "ClientModel", "sampled_message", "sampling_request",
           "uses_sampling"]

DEFAULT_MAX_TOKENS = 2000
_INVALID_PARAMS = -32602


class ClientModel:
    """The `toolnav.llm.ChatModel` of a sampling agent: the client's model, reachable only
    from a task (whose workflow asks the client); a direct call is an error."""

    async def complete(self, messages: Sequence[Mapping[str, Any]],
                       tools: Sequence[Mapping[str, Any]] | None = None) -> AssistantMessage:
        """Never answers here.

        Raises:
            LLMError: always (the agent runs only as a task of an MCP client that samples).
        """
        raise LLMError("this agent's model is the MCP client's (llm = \"sampling\"): it runs "
                       "only as a task submitted by a client that declared sampling")

    async def aclose(self) -> None:
        """Nothing to release."""


def uses_sampling(agent: Agent) -> bool:
    """Whether *agent*'s LLM turns are sampling requests to the task's client."""
    return isinstance(agent.llm, ClientModel)


def sampling_request(messages: Sequence[Mapping[str, Any]], payload: Sequence[Mapping[str, Any]],
                     max_tokens: int = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
    """The ``sampling/createMessage`` request for one turn on *messages* (OpenAI chat format)
    with the tools of *payload* (OpenAI function definitions)."""
    system = [str(message.get("content") or "") for message in messages
              if message.get("role") == "system"]
    params: dict[str, Any] = {
        "messages": [_sampling_message(message) for message in messages
                     if message.get("role") != "system"],
        "maxTokens": max_tokens}
    if system:
        params["systemPrompt"] = "\n\n".join(system)
    if payload:
        params["tools"] = [{"name": entry["function"]["name"],
                            "description": entry["function"].get("description", ""),
                            "inputSchema": entry["function"].get("parameters") or {
                                "type": "object"}} for entry in payload]
        params["toolChoice"] = {"mode": "auto"}
    return {"method": "sampling/createMessage", "params": params}


def sampled_message(answer: Any) -> dict[str, Any]:
    """The client's ``CreateMessageResult`` as the assistant message of the turn
    (`toolnav.llm.AssistantMessage.to_message` form): its text, and its tool uses as calls.

    Raises:
        TaskFailed: the answer is not a sampling result (no content blocks).
    """
    content = answer.get("content") if isinstance(answer, Mapping) else None
    blocks = content if isinstance(content, list) else [content]
    if not blocks or not all(isinstance(block, Mapping) for block in blocks):
        raise TaskFailed(f"the client's answer to a sampling request is not a "
                         f"CreateMessageResult with content blocks: {str(answer)[:200]}",
                         _INVALID_PARAMS)
    text = "".join(str(block.get("text", "")) for block in blocks if block.get("type") == "text")
    calls = [{"id": str(block.get("id") or f"call_{number}"), "type": "function",
              "function": {"name": str(block.get("name", "")),
                           "arguments": json.dumps(block.get("input") or {})}}
             for number, block in enumerate(blocks) if block.get("type") == "tool_use"]
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _sampling_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """One OpenAI chat message as an MCP sampling message."""
    role, text = message.get("role"), message.get("content")
    if role == "tool":
        return {"role": "user", "content": [{
            "type": "tool_result", "toolUseId": message.get("tool_call_id", ""),
            "content": [{"type": "text", "text": str(text or "")}]}]}
    blocks: list[dict[str, Any]] = [{"type": "text", "text": str(text)}] if text else []
    for call in message.get("tool_calls") or ():
        blocks.append({"type": "tool_use", "id": call["id"], "name": call["function"]["name"],
                       "input": _arguments(call["function"]["arguments"])})
    mcp_role = "assistant" if role == "assistant" else "user"
    if len(blocks) == 1 or not blocks:
        return {"role": mcp_role, "content": blocks[0] if blocks else {"type": "text",
                                                                       "text": ""}}
    return {"role": mcp_role, "content": blocks}


def _arguments(raw: Any) -> dict[str, Any]:
    """A call's arguments as an object (the raw text the model wrote, parsed if it can be)."""
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError):
        return {"_raw": str(raw)}
    return parsed if isinstance(parsed, dict) else {"_value": parsed}
