"""Tools the MCP conformance suite calls by name that ask their client for input (served
through the gateway like any Python tool; scripts/conformance.sh adds this module too).

Each raises `toolnav.inputs.InputRequired` until it has its answers: as a plain call the gateway
answers an input-required result (MRTR, the ``input-required-result-*`` scenarios); as a task
(``confirm_delete`` and ``multi_input`` are tagged ``task:optional``) the task parks in
``input_required`` until tasks/update brings the answers (``tasks-mrtr-input``).
``test_tool_with_task`` (``task:required`` and ``task:input-first``) asks by input-required
results on the plain call and becomes a task once answered (``tasks-mrtr-composition``).

Example:
    toolnav add tests/server/conformance/input_tools.py
"""

from __future__ import annotations

from toolnav.inputs import (
    InputRequired,
    client_can,
    continue_as_task,
    elicitation,
    input_responses,
    list_roots,
    request_state,
    sampling,
)

__all__ = ["confirm_delete", "multi_input", "test_input_required_result_capabilities",
           "test_input_required_result_elicitation", "test_input_required_result_list_roots",
           "test_input_required_result_multi_round", "test_input_required_result_multiple_inputs",
           "test_input_required_result_request_state", "test_input_required_result_sampling",
           "test_input_required_result_tampered_state", "test_tool_with_task"]


_NAME = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
_CONFIRM = {"type": "object", "properties": {"confirm": {"type": "boolean"}},
            "required": ["confirm"]}


def _accepted(answer: dict | None) -> dict | None:
    """The content of an accepted elicitation answer, else None."""
    if isinstance(answer, dict) and answer.get("action") == "accept":
        return answer.get("content") or {}
    return None


def _text(answer: dict) -> str:
    """The text of a sampling answer."""
    content = answer.get("content")
    return content.get("text", "") if isinstance(content, dict) else ""


def confirm_delete(filename: str) -> str:
    """Delete a file after the user confirms (a task that asks its client for input).

    Args:
        filename: the file to delete.
    """
    answer = input_responses().get("confirm")
    if answer is None:
        raise InputRequired({"confirm": elicitation(f"Delete {filename}?", _CONFIRM)})
    content = _accepted(answer)
    return f"Deleted {filename}." if content and content.get("confirm") else \
        f"Kept {filename}."


confirm_delete.__toolnav_tags__ = ("task:optional",)


def multi_input() -> str:
    """Ask two questions at once (a task with two input requests pending together)."""
    answers = input_responses()
    missing = {key: elicitation(f"Question {key}?", {**_NAME, "properties": {
        "name": {"type": "string"}, "confirm": {"type": "boolean"}}})
        for key in ("first", "second") if key not in answers}
    if missing:
        raise InputRequired(missing)
    names = [(_accepted(answers[key]) or {}).get("name", "?") for key in ("first", "second")]
    return f"Got {names[0]} and {names[1]}."


multi_input.__toolnav_tags__ = ("task:optional",)


def test_input_required_result_elicitation() -> str:
    """Ask the user's name, then greet them (input-required result, SEP-2322)."""
    answer = _accepted(input_responses().get("user_name"))
    if answer is None:
        raise InputRequired({"user_name": elicitation("What is your name?", _NAME)})
    return f"Hello, {answer.get('name', 'stranger')}!"


def test_input_required_result_sampling() -> str:
    """Ask the client's model a question, then report its answer."""
    answer = input_responses().get("capital_question")
    if answer is None:
        raise InputRequired({"capital_question": sampling("What is the capital of France?",
                                                          max_tokens=100)})
    return f"The model said: {_text(answer)}"


def test_input_required_result_list_roots() -> str:
    """Ask the client for its roots, then list them."""
    answer = input_responses().get("client_roots")
    if answer is None:
        raise InputRequired({"client_roots": list_roots()})
    return "Roots: " + ", ".join(root.get("uri", "") for root in answer.get("roots", []))


def test_input_required_result_request_state() -> str:
    """Ask for a confirmation with a request state, and check the state comes back."""
    answer = input_responses().get("confirm")
    if answer is None or request_state() != "awaiting-confirmation":
        raise InputRequired({"confirm": elicitation("Proceed?", {
            "type": "object", "properties": {"ok": {"type": "boolean"}}})},
            state="awaiting-confirmation")
    return "Confirmed with the state echoed back."


def test_input_required_result_multiple_inputs() -> str:
    """Ask for a name, a model completion and the roots in one round."""
    answers = input_responses()
    wanted = {"user_name": elicitation("What is your name?", _NAME),
              "greeting": sampling("Generate a greeting", max_tokens=50),
              "client_roots": list_roots()}
    if not set(wanted) <= set(answers):
        raise InputRequired(wanted, state="round-1")
    name = (_accepted(answers["user_name"]) or {}).get("name", "?")
    roots = answers["client_roots"].get("roots", [])
    return f"{_text(answers['greeting'])} {name}, with {len(roots)} root(s)."


def test_input_required_result_multi_round() -> str:
    """Ask for a name, then (a second round) a colour, then answer."""
    answers, state = input_responses(), request_state() or ""
    if state.startswith("round-2:") and "step2" in answers:
        colour = (_accepted(answers["step2"]) or {}).get("color", "?")
        return f"{state.removeprefix('round-2:')} likes {colour}."
    if state == "round-1" and "step1" in answers:
        name = (_accepted(answers["step1"]) or {}).get("name", "?")
        raise InputRequired({"step2": elicitation("Step 2: What is your favorite color?", {
            "type": "object", "properties": {"color": {"type": "string"}},
            "required": ["color"]})}, state=f"round-2:{name}")
    raise InputRequired({"step1": elicitation("Step 1: What is your name?", _NAME)},
                        state="round-1")


def test_input_required_result_tampered_state() -> str:
    """Ask with a request state (the server rejects a tampered one before this runs)."""
    if request_state() != "untampered" or "ok" not in input_responses():
        raise InputRequired({"ok": elicitation("Continue?", {
            "type": "object", "properties": {"ok": {"type": "boolean"}}})}, state="untampered")
    return "The state came back intact."


def test_input_required_result_capabilities() -> str:
    """Ask only what the client declared it can answer (a model completion and/or a name)."""
    answers = input_responses()
    wanted = {}
    if client_can("sampling/createMessage") and "greeting" not in answers:
        wanted["greeting"] = sampling("Generate a greeting", max_tokens=50)
    if client_can("elicitation/create") and "user_name" not in answers:
        wanted["user_name"] = elicitation("What is your name?", _NAME)
    if wanted:
        raise InputRequired(wanted)
    return "Answered with what the client can do."


def test_tool_with_task() -> str:
    """Ask the user's name on the plain call, then greet them from a durable task."""
    answer = _accepted(input_responses().get("user_name"))
    if answer is None:
        raise InputRequired({"user_name": elicitation("What is your name?", _NAME)})
    continue_as_task()
    return f"Hello from the task, {answer.get('name', 'stranger')}!"


test_tool_with_task.__toolnav_tags__ = ("task:required", "task:input-first")
