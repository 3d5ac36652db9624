"""The chat model the agent talks to: a `ChatModel` protocol and its OpenAI-compatible client.

`ChatClient` speaks the ``/chat/completions`` wire format directly over an `httpx.AsyncClient`
(no SDK state), retries 429, 5xx and transport failures with exponential backoff (honouring a
numeric ``Retry-After``), and raises `LLMError` with a message saying what to set when no
endpoint is configured. Other models (MCP sampling, a test double) implement `ChatModel`.

Example:
    async with ChatClient(LLMSettings(base_url="http://127.0.0.1:8000/v1", model="qwen3")) as llm:
        reply = await llm.complete([{"role": "user", "content": "hi"}], tools=rendered.payload)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import anyio
import httpx

from toolnav.config import LLMSettings
from toolnav.errors import LLMError

__all__ = ["AssistantMessage", "ChatClient", "ChatModel", "ToolCall"]

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True)
class ToolCall:
    """One function call the model asked for; ``arguments`` is the raw JSON text it wrote."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class AssistantMessage:
    """The model's reply: text, tool calls, or both."""

    content: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)

    def to_message(self) -> dict[str, Any]:
        """The reply as a chat-history message to send back on the next turn."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": call.id, "type": "function",
                 "function": {"name": call.name, "arguments": call.arguments}}
                for call in self.tool_calls]
        return message

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> AssistantMessage:
        """The inverse of `to_message` (for replies recorded by a durable engine)."""
        return cls(content=message.get("content"), tool_calls=[
            ToolCall(id=call["id"], name=call["function"]["name"],
                     arguments=call["function"]["arguments"])
            for call in message.get("tool_calls") or ()])


@runtime_checkable
class ChatModel(Protocol):
    """What the agent needs from a model: one chat turn with tools, and a way to close it."""

    async def complete(self, messages: Sequence[Mapping[str, Any]],
                       tools: Sequence[Mapping[str, Any]] | None = None) -> AssistantMessage:
        """One chat turn; raises `LLMError` when the model cannot answer."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class ChatClient:
    """Sends chat requests with tools to an OpenAI-compatible endpoint.

    Args:
        settings: endpoint, model, key, timeout and retry count.
        backoff_seconds: first retry delay; doubles on each retry (capped at 30 s).

    Raises:
        LLMError: no endpoint or model is configured.
    """

    def __init__(self, settings: LLMSettings, *, backoff_seconds: float = 0.5) -> None:
        if not settings.base_url:
            raise LLMError("no LLM endpoint configured: set TOOLNAV_LLM_BASE_URL to an "
                           "OpenAI-compatible base URL (e.g. http://127.0.0.1:8000/v1) and "
                           "TOOLNAV_LLM_MODEL to the model name")
        if not settings.model:
            raise LLMError(f"no model configured for {settings.base_url}: set "
                           "TOOLNAV_LLM_MODEL")
        self.settings = settings
        self.backoff_seconds = backoff_seconds
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self._http = httpx.AsyncClient(base_url=settings.base_url.rstrip("/") + "/",
                                       headers=headers, timeout=settings.timeout_seconds)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    async def complete(self, messages: Sequence[Mapping[str, Any]],
                 tools: Sequence[Mapping[str, Any]] | None = None, *,
                 temperature: float | None = 0.0) -> AssistantMessage:
        """One chat completion.

        Args:
            messages: the conversation in OpenAI chat format.
            tools: OpenAI-format tool definitions (see `toolnav.render`).
            temperature: sampling temperature; ``None`` leaves it to the server.

        Returns:
            The first choice's message.

        Raises:
            LLMError: the endpoint failed after retries, refused the request, or answered
                with something that is not a chat completion.
        """
        body: dict[str, Any] = {"model": self.settings.model, "messages": list(messages)}
        if tools:
            body["tools"] = list(tools)
            body["tool_choice"] = "auto"
        if temperature is not None:
            body["temperature"] = temperature
        return _parse_reply(await self._post(body))

    async def _post(self, body: dict[str, Any]) -> Any:
        url = f"{self.settings.base_url}/chat/completions"
        for attempt in range(self.settings.max_retries + 1):
            last = attempt == self.settings.max_retries
            try:
                response = await self._http.post("chat/completions", json=body)
            except httpx.TransportError as error:
                if last:
                    raise LLMError(f"LLM endpoint {url} unreachable after {attempt + 1} "
                                   f"attempts: {type(error).__name__}: {error}") from None
                await self._sleep(attempt, None)
                continue
            if response.status_code in RETRY_STATUSES and not last:
                await self._sleep(attempt, response.headers.get("retry-after"))
                continue
            if response.status_code >= 400:
                raise LLMError(f"LLM endpoint {url} answered HTTP {response.status_code} "
                               f"(after {attempt + 1} attempts): {response.text[:500]}")
            try:
                return response.json()
            except ValueError:
                raise LLMError(f"LLM endpoint {url} returned non-JSON: "
                               f"{response.text[:200]!r}") from None
        raise AssertionError("unreachable")  # the loop always returns or raises

    async def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff_seconds * 2 ** attempt
        if retry_after and retry_after.replace(".", "", 1).isdigit():
            delay = max(delay, float(retry_after))
        await anyio.sleep(min(delay, MAX_BACKOFF_SECONDS))

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _parse_reply(data: Any) -> AssistantMessage:
    try:
        message = data["choices"][0]["message"]
        calls = [ToolCall(id=str(call.get("id") or f"call_{index}"),
                          name=str(call["function"]["name"]),
                          arguments=_arguments_text(call["function"].get("arguments")))
                 for index, call in enumerate(message.get("tool_calls") or [])]
    except (KeyError, IndexError, TypeError, AttributeError) as error:
        raise LLMError(f"the LLM answer is not a chat completion (missing {error}): "
                       f"{str(data)[:300]}") from None
    return AssistantMessage(content=message.get("content"), tool_calls=calls)


def _arguments_text(arguments: Any) -> str:
    """Arguments as JSON text; some servers send an object instead of a string."""
    if arguments is None:
        return "{}"
    return arguments if isinstance(arguments, str) else json.dumps(arguments)
