"""Agent profiles: the named agents tasks are given to, read from a TOML or JSON file.

A profile names an agent and sets its LLM endpoint and model (any OpenAI-compatible server),
system prompt, tool scope (namespaces, allow and deny lists), bounds and concurrency. Fields a
profile leaves out come from the default `LLMSettings` (the ``TOOLNAV_LLM_*`` settings of
``toolnav run``); API keys are never read from the file. A profile with ``llm = "sampling"``
uses the model of the MCP client that submits the task instead (`toolnav.tasks.sampling`).
Without a file there is one agent, ``default``. Building live `Agent` objects from profiles
is `build_agents`.

Example:
    profiles = load_profiles(Path("examples/agents.toml"), settings.llm)
    agents = build_agents(profiles, router, executor, trace_dir=home / "traces")
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolnav.agent import Agent, AgentParams
from toolnav.config import LLMSettings
from toolnav.errors import ConfigError
from toolnav.route import ToolFilter
from toolnav.tasks.sampling import ClientModel

__all__ = ["DEFAULT_AGENT", "AgentProfile", "build_agents", "load_profiles"]

DEFAULT_AGENT = "default"
DEFAULT_CONCURRENCY = 4
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_LLM_FIELDS = ("base_url", "model", "timeout_seconds", "max_retries")
_PARAM_FIELDS = ("k", "token_budget", "max_repairs", "max_steps", "allow_unknown")


@dataclass(frozen=True)
class AgentProfile:
    """One named agent.

    Attributes:
        name: 1-64 characters from ``[A-Za-z0-9_.-]``.
        llm: its endpoint and model.
        system_prompt: replaces the loop's default prompt when set.
        namespaces: only tools from these sources; empty: all.
        allow: only these tool names; empty: all.
        deny: never these tool names.
        params: step and repair bounds, routing depth and token budget.
        concurrency: tasks of this agent running at once (across all workers).
        sampling: its model is the client's, asked through MCP sampling (``llm`` is unused).
    """

    name: str
    llm: LLMSettings = field(default_factory=LLMSettings)
    system_prompt: str | None = None
    namespaces: frozenset[str] = frozenset()
    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()
    params: AgentParams = field(default_factory=AgentParams)
    concurrency: int = DEFAULT_CONCURRENCY
    sampling: bool = False

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(f"agent name {self.name!r} must be 1-64 characters from "
                              "letters, digits, '_', '.' and '-'")
        if self.concurrency < 1:
            raise ConfigError(f"agent {self.name!r}: concurrency must be at least 1, got "
                              f"{self.concurrency}")

    def filters(self) -> ToolFilter | None:
        """The profile's tool scope as a router filter (None when unrestricted)."""
        if not (self.namespaces or self.allow or self.deny):
            return None
        return ToolFilter(sources=self.namespaces, allow=self.allow, deny=self.deny)


def load_profiles(path: Path | None, default_llm: LLMSettings) -> dict[str, AgentProfile]:
    """Read agent profiles from *path* (``.toml`` or ``.json``), or the one default agent.

    The file holds an ``agents`` table keyed by agent name (see ``examples/agents.toml``).

    Args:
        path: the profile file, or None for the default agent only.
        default_llm: endpoint settings profiles inherit (and the default agent uses).

    Returns:
        Profiles by name, in file order.

    Raises:
        ConfigError: the file is missing, malformed, or a profile has an unknown or bad field.
    """
    if path is None:
        return {DEFAULT_AGENT: AgentProfile(DEFAULT_AGENT, llm=default_llm)}
    data = _read(Path(path))
    agents = data.get("agents")
    if not isinstance(agents, Mapping) or not agents:
        raise ConfigError(f"{path}: expected an 'agents' table with at least one agent, e.g. "
                          "[agents.agent-1] with model = \"...\"")
    profiles = {}
    for name, fields in agents.items():
        if not isinstance(fields, Mapping):
            raise ConfigError(f"{path}: agents.{name} must be a table of settings")
        try:
            profiles[name] = _profile(str(name), fields, default_llm)
        except (ConfigError, TypeError, ValueError) as error:
            raise ConfigError(f"{path}: agents.{name}: {error}") from None
    return profiles


def build_agents(profiles: Mapping[str, AgentProfile], router: Any, executor: Any, *,
                 trace_dir: Path | None = None, feedback: Any = None) -> dict[str, Agent]:
    """One `Agent` per profile, sharing *router* and *executor* (close them with each agent).

    Raises:
        LLMError: a profile has no endpoint or model.
    """
    return {name: Agent(router, ClientModel() if profile.sampling else profile.llm,
                        executor=executor, trace_dir=trace_dir,
                        params=profile.params, feedback=feedback,
                        system_prompt=profile.system_prompt, filters=profile.filters())
            for name, profile in profiles.items()}


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"agent profile file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path} is not valid {path.suffix.lstrip('.').upper() or 'TOML'}: "
                          f"{error}") from None


def _profile(name: str, fields: Mapping[str, Any], default_llm: LLMSettings) -> AgentProfile:
    known = {*_LLM_FIELDS, *_PARAM_FIELDS, "system_prompt", "namespaces", "allow", "deny",
             "concurrency", "llm"}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(known))}")
    if fields.get("llm", "endpoint") not in ("endpoint", "sampling"):
        raise ConfigError(f"llm = {fields['llm']!r}: use \"sampling\" (the MCP client's model) "
                          "or leave it out (the endpoint of base_url and model)")
    llm = dataclasses.replace(default_llm, **{key: fields[key] for key in _LLM_FIELDS
                                              if key in fields})
    params = AgentParams(**{key: fields[key] for key in _PARAM_FIELDS if key in fields})
    return AgentProfile(name=name, llm=llm, system_prompt=fields.get("system_prompt"),
                        namespaces=_names(fields, "namespaces"), allow=_names(fields, "allow"),
                        deny=_names(fields, "deny"), params=params,
                        concurrency=int(fields.get("concurrency", DEFAULT_CONCURRENCY)),
                        sampling=fields.get("llm") == "sampling")


def _names(fields: Mapping[str, Any], key: str) -> frozenset[str]:
    value = fields.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{key} must be a list of strings, got {value!r}")
    return frozenset(value)
