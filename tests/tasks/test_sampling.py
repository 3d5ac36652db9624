"""The translations of a sampling agent's turns: chat messages to a sampling request, the
client's answer back to an assistant message, and precise failures."""

from __future__ import annotations

import pytest

from toolnav.errors import LLMError, TaskFailed
from toolnav.tasks.sampling import ClientModel, sampled_message, sampling_request

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "add 2 and 3"},
    {"role": "assistant", "content": "Adding.", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2}"}},
        {"id": "c2", "type": "function", "function": {"name": "add", "arguments": "not json"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "5"},
]
PAYLOAD = [{"type": "function", "function": {"name": "add", "description": "Add.",
                                             "parameters": {"type": "object"}}}]


def test_the_conversation_becomes_a_sampling_request():
    request = sampling_request(MESSAGES, PAYLOAD, max_tokens=50)
    params = request["params"]
    assert request["method"] == "sampling/createMessage"
    assert params["systemPrompt"] == "Be brief." and params["maxTokens"] == 50
    assert params["tools"] == [{"name": "add", "description": "Add.",
                                "inputSchema": {"type": "object"}}]
    assert params["messages"][1]["content"] == [
        {"type": "text", "text": "Adding."},
        {"type": "tool_use", "id": "c1", "name": "add", "input": {"a": 2}},
        {"type": "tool_use", "id": "c2", "name": "add", "input": {"_raw": "not json"}}]
    assert params["messages"][2]["content"][0]["toolUseId"] == "c1"
    assert "tools" not in sampling_request(MESSAGES[:2], [])["params"]


def test_an_answer_becomes_the_assistant_message():
    message = sampled_message({"role": "assistant", "model": "m", "content": [
        {"type": "text", "text": "Sure."},
        {"type": "tool_use", "id": "u1", "name": "add", "input": {"a": 1, "b": 2}}]})
    assert message["content"] == "Sure."
    assert message["tool_calls"] == [{"id": "u1", "type": "function", "function": {
        "name": "add", "arguments": "{\"a\": 1, \"b\": 2}"}}]
    assert sampled_message({"content": {"type": "text", "text": "5"}}) == {
        "role": "assistant", "content": "5"}


@pytest.mark.parametrize("answer", [{"action": "accept"}, "5", {"content": []},
                                    {"content": ["x"]}])
def test_an_answer_that_is_no_sampling_result_fails_the_task(answer):
    with pytest.raises(TaskFailed, match="not a CreateMessageResult"):
        sampled_message(answer)


@pytest.mark.anyio
async def test_the_client_model_cannot_be_called_outside_a_task():
    with pytest.raises(LLMError, match="runs only as a task"):
        await ClientModel().complete([{"role": "user", "content": "hi"}])
