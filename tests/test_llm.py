"""The async chat client against a real local OpenAI-compatible HTTP server."""

from __future__ import annotations

import pytest

from tests.fake_llm import FakeLLM, text, tool_call
from toolnav.config import LLMSettings
from toolnav.errors import LLMError
from toolnav.llm import AssistantMessage, ChatClient, ChatModel

pytestmark = [pytest.mark.timeout(30), pytest.mark.anyio]
USER = [{"role": "user", "content": "x"}]


def _client(llm: FakeLLM, retries: int = 2) -> ChatClient:
    return ChatClient(LLMSettings(base_url=llm.base_url, model="fake", api_key="k",
                                  max_retries=retries, timeout_seconds=5),
                      backoff_seconds=0.01)


async def test_tool_call_round_trip():
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    with FakeLLM([tool_call("f", {"x": 1})]) as llm:
        async with _client(llm) as client:
            assert isinstance(client, ChatModel)
            reply = await client.complete([{"role": "user", "content": "go"}], tools=tools)
    assert reply.tool_calls[0].name == "f" and reply.tool_calls[0].arguments == '{"x": 1}'
    sent = llm.requests[0]
    assert sent["model"] == "fake" and sent["tools"] == tools and sent["tool_choice"] == "auto"
    assert AssistantMessage.from_message(reply.to_message()) == reply


async def test_retries_on_429_and_5xx_then_succeeds():
    script = [(429, {"error": "slow down"}), (503, {"error": "busy"}), text("done")]
    with FakeLLM(script) as llm:
        async with _client(llm) as client:
            assert await client.complete(USER) == AssistantMessage("done")
    assert len(llm.requests) == 3


@pytest.mark.parametrize("script, retries, message, requests", [
    ([(500, {"error": "down"})] * 5, 1, r"HTTP 500 \(after 2 attempts", 2),
    ([(400, {"error": "bad tools"}), text("never")], 2, "HTTP 400", 1),
    ([(401, {"error": "bad key"}), text("never")], 2, "HTTP 401", 1),
    ([(200, {"nothing": True})], 2, "not a chat completion", 1),
    ([(200, b"garbage")], 2, "non-JSON", 1),
])
async def test_failures_are_llm_errors(script, retries, message, requests):
    with FakeLLM(script) as llm:
        async with _client(llm, retries=retries) as client:
            with pytest.raises(LLMError, match=message):
                await client.complete(USER)
    assert len(llm.requests) == requests


async def test_unreachable_endpoint():
    async with ChatClient(LLMSettings(base_url="http://127.0.0.1:9/v1", model="m",
                                      max_retries=1), backoff_seconds=0.01) as client:
        with pytest.raises(LLMError, match="unreachable after 2 attempts"):
            await client.complete(USER)


def test_missing_configuration():
    with pytest.raises(LLMError, match="TOOLNAV_LLM_BASE_URL"):
        ChatClient(LLMSettings())
    with pytest.raises(LLMError, match="TOOLNAV_LLM_MODEL"):
        ChatClient(LLMSettings(base_url="http://127.0.0.1:1/v1"))
