"""Agent profiles: the example file, JSON, the default agent, and precise errors."""

from __future__ import annotations

import json

import pytest

from tests.sources.services import REPO_ROOT
from toolnav.config import LLMSettings
from toolnav.errors import ConfigError
from toolnav.tasks import build_agents, load_profiles
from toolnav.tasks.sampling import uses_sampling

DEFAULT = LLMSettings(base_url="http://127.0.0.1:8000/v1", model="base", api_key="secret")


def test_example_file_has_two_agents_inheriting_the_default_endpoint():
    profiles = load_profiles(REPO_ROOT / "examples" / "agents.toml", DEFAULT)
    assert list(profiles) == ["agent-1", "agent-2"]
    first, second = profiles.values()
    assert first.llm.base_url == DEFAULT.base_url and first.llm.model == "qwen3-8b"
    assert first.llm.api_key == "secret"  # keys come from settings, never from the file
    assert second.llm.base_url == "http://127.0.0.1:8001/v1"
    assert first.filters().sources == {"calc"} and first.filters().deny == {"calc__divide"}
    assert second.filters() is None
    assert (first.params.max_steps, first.params.k, first.concurrency) == (6, 3, 4)
    assert (second.params.max_repairs, second.params.token_budget) == (3, 4000)


def test_no_file_means_one_default_agent():
    profiles = load_profiles(None, DEFAULT)
    assert list(profiles) == ["default"] and profiles["default"].llm == DEFAULT


def test_json_profiles_and_built_agents(tmp_path):
    path = tmp_path / "agents.json"
    path.write_text(json.dumps({"agents": {"solo": {"system_prompt": "Be brief.",
                                                    "allow": ["add_numbers"]}}}))
    profiles = load_profiles(path, DEFAULT)
    agents = build_agents(profiles, router=object(), executor=object())
    assert agents["solo"].system_prompt == "Be brief."
    assert agents["solo"].filters.allow == {"add_numbers"}


def test_a_sampling_profile_gets_the_clients_model(tmp_path):
    path = tmp_path / "agents.toml"
    path.write_text("[agents.mine]\nllm = 'sampling'\n[agents.theirs]\nmodel = 'm'\n")
    profiles = load_profiles(path, DEFAULT)
    agents = build_agents(profiles, router=object(), executor=object())
    assert profiles["mine"].sampling and not profiles["theirs"].sampling
    assert uses_sampling(agents["mine"]) and not uses_sampling(agents["theirs"])


@pytest.mark.parametrize("content, message", [
    ("[agents.a1]\nmodle = 'x'\n", r"agents.a1: unknown setting\(s\) modle; known: allow"),
    ("[agents.a1]\nconcurrency = 0\n", "concurrency must be at least 1"),
    ("[agents.a1]\nmax_steps = 0\n", "max_steps must be >= 1"),
    ("[agents.a1]\ndeny = 'calc'\n", "deny must be a list of strings"),
    ("[agents.'bad name']\n", "must be 1-64 characters"),
    ("title = 'no agents'\n", "expected an 'agents' table"),
    ("[agents\n", "is not valid TOML"),
    ("[agents.a1]\nllm = 'gpt'\n", "llm = 'gpt': use \"sampling\""),
])
def test_bad_profiles_are_refused_with_the_place(tmp_path, content, message):
    path = tmp_path / "agents.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_profiles(path, DEFAULT)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_profiles(tmp_path / "nope.toml", DEFAULT)
