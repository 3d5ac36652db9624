"""The chat client against a real local OpenAI-compatible HTTP server."""

from __future__ import annotations

import pytest

from tests.fake_llm import FakeLLM, text, tool_call
from toolnav.config import LLMSettings
from toolnav.errors import LLMError
from toolnav.llm import AssistantMessage, ChatClient

pytestmark = pytest.mark.timeout(30)


def _client(llm: FakeLLM, retries: int = 2) -> ChatClient:
    return ChatClient(LLMSettings(base_url=llm.base_url, model="fake", api_key="k",
                                  max_retries=retries, timeout_seconds=5),
                      backoff_seconds=0.01)


def test_tool_call_round_trip():
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    with FakeLLM([tool_call("f", {"x": 1})]) as llm, _client(llm) as client:
        reply = client.complete([{"role": "user", "content": "go"}], tools=tools)
    assert reply.tool_calls[0].name == "f" and reply.tool_calls[0].arguments == '{"x": 1}'
    sent = llm.requests[0]
    assert sent["model"] == "fake" and sent["tools"] == tools and sent["tool_choice"] == "auto"
    assert reply.to_message()["tool_calls"][0]["function"]["name"] == "f"


def test_retries_on_429_and_5xx_then_succeeds():
    script = [(429, {"error": "slow down"}), (503, {"error": "busy"}), text("done")]
    with FakeLLM(script) as llm, _client(llm) as client:
        assert client.complete([{"role": "user", "content": "x"}]) == AssistantMessage("done")
    assert len(llm.requests) == 3


def test_gives_up_after_the_retry_bound():
    with (FakeLLM([(500, {"error": "down"})] * 5) as llm, _client(llm, retries=1) as client,
          pytest.raises(LLMError, match=r"HTTP 500 \(after 2 attempts")):
        client.complete([{"role": "user", "content": "x"}])
    assert len(llm.requests) == 2


def test_client_errors_are_not_retried():
    with (FakeLLM([(400, {"error": "bad tools"}), text("never")]) as llm, _client(llm) as client,
          pytest.raises(LLMError, match="HTTP 400")):
        client.complete([{"role": "user", "content": "x"}])
    assert len(llm.requests) == 1


def test_malformed_answer():
    with (FakeLLM([(200, {"nothing": True})]) as llm, _client(llm) as client,
          pytest.raises(LLMError, match="not a chat completion")):
        client.complete([{"role": "user", "content": "x"}])


def test_unreachable_endpoint():
    client = ChatClient(LLMSettings(base_url="http://127.0.0.1:9/v1", model="m", max_retries=1),
                        backoff_seconds=0.01)
    with pytest.raises(LLMError, match="unreachable after 2 attempts"):
        client.complete([{"role": "user", "content": "x"}])


def test_missing_configuration():
    with pytest.raises(LLMError, match="TOOLNAV_LLM_BASE_URL"):
        ChatClient(LLMSettings())
    with pytest.raises(LLMError, match="TOOLNAV_LLM_MODEL"):
        ChatClient(LLMSettings(base_url="http://127.0.0.1:1/v1"))
