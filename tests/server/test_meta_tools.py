"""search_arguments: the shortcut for well-formed searches answers exactly as the validator."""

from __future__ import annotations

import pytest

from toolnav.errors import ValidationFailed
from toolnav.server import meta_tools
from toolnav.server.meta_tools import MAX_SEARCH_K, SEARCH_TOOLS, search_arguments
from toolnav.validate import validate_arguments

WELL_FORMED = [
    {"query": "weather"},
    {"query": "météo à Paris", "k": 3},
    {"query": "天气", "k": MAX_SEARCH_K, "namespaces": ["a", "b"], "tags": []},
    {"query": "x", "k": 1, "tags": ["maps"]},
]
OTHERS = [
    {"query": "weather", "k": "3"},             # coerced by the validator
    {"query": "weather", "k": 3.0},
    {"query": "weather", "k": True},
    {"query": "weather", "k": 0},
    {"query": "weather", "k": MAX_SEARCH_K + 1},
    {"query": "weather", "k": None},
    {"query": ""},
    {"query": 5},
    {"query": "bad \ud800 text"},
    {},
    {"query": "weather", "limit": 3},
    {"query": "weather", "namespaces": ["a", "a"]},
    {"query": "weather", "namespaces": [""]},
    {"query": "weather", "namespaces": "a"},
    {"query": "weather", "tags": ["ok", "\udc80"]},
    {"query": "weather", "tags": [1]},
    '{"query": "weather", "k": 2}',
    ["weather"],
]


def outcome(call, arguments):
    try:
        return "ok", call(arguments)
    except ValidationFailed as error:
        return "error", (str(error), error.issues)


@pytest.mark.parametrize("arguments", WELL_FORMED + OTHERS)
def test_search_arguments_answer_as_the_validator(arguments):
    assert outcome(search_arguments, arguments) == \
        outcome(lambda value: validate_arguments(SEARCH_TOOLS, value), arguments)


@pytest.mark.parametrize("arguments", WELL_FORMED)
def test_well_formed_searches_skip_the_validator(arguments, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the validator ran")

    monkeypatch.setattr(meta_tools, "validate_arguments", refuse)
    assert search_arguments(arguments) == arguments


@pytest.mark.parametrize("arguments", OTHERS[:3])
def test_other_arguments_take_the_validators_path(arguments, monkeypatch):
    seen = []
    monkeypatch.setattr(meta_tools, "validate_arguments",
                        lambda tool, value: seen.append(value) or {"query": "q"})
    assert search_arguments(arguments) == {"query": "q"} and seen == [arguments]
