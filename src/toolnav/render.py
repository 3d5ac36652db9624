"""Render routed tools in the exact shapes LLM providers expect, within a token budget.

Providers: ``openai`` (``{"type": "function", "function": {...}}``), ``anthropic``
(``{"name", "description", "input_schema"}``) and ``mcp`` (an MCP ``Tool``: ``name``,
``description``, ``inputSchema``). Names a provider rejects (OpenAI and Anthropic allow
``^[a-zA-Z0-9_-]{1,64}$``, MCP ``[A-Za-z0-9_.-]{1,128}``) are mapped reversibly through a
`NameMap`. Schemas are compacted (titles, examples, ``$comment`` dropped, long descriptions
cut) and tools are added in rank order while the prompt stays under the token budget.
Tokens are estimated as ``ceil(characters of compact JSON / 4)`` — no tokenizer dependency.

Example:
    rendered = render_tools([c.tool for c in result.candidates], provider="openai", budget=2000)
    tool = rendered.names.tool_name(call_name)     # back from the provider's name
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from toolnav.errors import ConfigError, ToolNotFound
from toolnav.tool import Tool

__all__ = ["PROVIDERS", "NameMap", "RenderedTools", "compact_schema", "estimate_tokens",
           "render_tools"]

PROVIDERS = ("openai", "anthropic", "mcp")
DROPPED_KEYS = frozenset({"title", "examples", "example", "$comment", "$schema", "deprecated",
                          "readOnly", "writeOnly", "x-examples"})
DESCRIPTION_CHARS = 300
PARAMETER_DESCRIPTION_CHARS = 160
_RULES = {"openai": (re.compile(r"[^A-Za-z0-9_-]"), 64),
          "anthropic": (re.compile(r"[^A-Za-z0-9_-]"), 64),
          "mcp": (re.compile(r"[^A-Za-z0-9_.-]"), 128)}


@dataclass
class NameMap:
    """Reversible mapping between catalog tool names and names a provider accepts."""

    provider: str
    to_provider: dict[str, str] = field(default_factory=dict)
    to_tool: dict[str, str] = field(default_factory=dict)

    def provider_name(self, name: str) -> str:
        """The provider-safe name for catalog tool *name* (assigned on first use, unique)."""
        if name in self.to_provider:
            return self.to_provider[name]
        pattern, limit = _RULES[self.provider]
        safe = pattern.sub("_", name) or "tool"
        if len(safe) > limit or safe in self.to_tool:  # too long, or taken by another name
            digest = hashlib.sha1(name.encode()).hexdigest()[:8]
            safe = f"{safe[: limit - 9]}_{digest}"
        self.to_provider[name] = safe
        self.to_tool[safe] = name
        return safe

    def tool_name(self, provider_name: str) -> str:
        """The catalog name behind a name the model used.

        Raises:
            ToolNotFound: the model named a tool it was not offered.
        """
        try:
            return self.to_tool[provider_name]
        except KeyError:
            offered = ", ".join(sorted(self.to_tool)) or "none"
            raise ToolNotFound(f"the model called {provider_name!r}, which was not offered; "
                               f"offered tools: {offered}") from None


@dataclass
class RenderedTools:
    """The provider payload, the tools it holds (rank order), their name map and its size."""

    provider: str
    payload: list[dict[str, Any]]
    tools: list[Tool]
    names: NameMap
    tokens: int


def estimate_tokens(data: Any) -> int:
    """Estimated prompt tokens of *data* serialised as compact JSON (4 characters per token)."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False,
                                                         separators=(",", ":"))
    return math.ceil(len(text) / 4)


def compact_schema(schema: Any, description_chars: int = PARAMETER_DESCRIPTION_CHARS) -> Any:
    """A copy of *schema* without what a model does not need to call the tool.

    Drops `DROPPED_KEYS` wherever they are keywords and cuts descriptions to
    *description_chars*; property names are never touched.
    """
    if isinstance(schema, list):
        return [compact_schema(item, description_chars) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    compact: dict[str, Any] = {}
    for key, value in schema.items():
        if key in DROPPED_KEYS:
            continue
        if key in ("properties", "$defs", "definitions", "patternProperties") \
                and isinstance(value, Mapping):
            compact[key] = {name: compact_schema(sub, description_chars)
                            for name, sub in value.items()}
        elif key == "description" and isinstance(value, str):
            compact[key] = _cut(value, description_chars)
        elif key in ("enum", "const", "default", "required"):
            compact[key] = value
        else:
            compact[key] = compact_schema(value, description_chars)
    return compact


def render_tools(tools: Sequence[Tool], *, provider: str = "openai", budget: int | None = None,
                 max_tools: int | None = None, compact: bool = True,
                 names: NameMap | None = None) -> RenderedTools:
    """Render *tools* (best first) for *provider*, keeping as many as fit in *budget* tokens.

    Args:
        tools: candidate tools in rank order.
        provider: one of `PROVIDERS`.
        budget: maximum estimated tokens of the payload; ``None`` for no limit. The first
            tool is always kept, so the model has something to call.
        max_tools: cap on the number of tools (K); ``None`` for no cap.
        compact: compact schemas and descriptions (see `compact_schema`).
        names: an existing name map to extend (keeps names stable across turns).

    Returns:
        The payload, the tools kept, the name map and the estimated token count.

    Raises:
        ConfigError: unknown provider or a non-positive budget or cap.
    """
    if provider not in PROVIDERS:
        raise ConfigError(f"unknown provider {provider!r}; use one of {', '.join(PROVIDERS)}")
    if (budget is not None and budget < 1) or (max_tools is not None and max_tools < 1):
        raise ConfigError("budget and max_tools must be positive (or None for no limit)")
    names = names or NameMap(provider)
    payload: list[dict[str, Any]] = []
    kept: list[Tool] = []
    tokens = 2  # the enclosing brackets
    for tool in tools:
        if max_tools is not None and len(kept) >= max_tools:
            break
        known = tool.name in names.to_provider
        entry = _entry(tool, provider, names, compact)
        cost = estimate_tokens(entry) + 1
        if budget is not None and kept and tokens + cost > budget:
            if not known:  # a tool the model never sees must not resolve
                names.to_tool.pop(names.to_provider.pop(tool.name))
            break
        payload.append(entry)
        kept.append(tool)
        tokens += cost
    return RenderedTools(provider, payload, kept, names, tokens)


def _entry(tool: Tool, provider: str, names: NameMap, compact: bool) -> dict[str, Any]:
    # Models get the ref-free schema; an MCP client gets it as the source wrote it.
    written = tool.input_schema if provider == "mcp" else tool.call_schema
    schema = compact_schema(written) if compact else dict(written)
    description = _cut(tool.description, DESCRIPTION_CHARS) if compact else tool.description
    name = names.provider_name(tool.name)
    if provider == "openai":
        return {"type": "function", "function": {"name": name, "description": description,
                                                 "parameters": schema}}
    if provider == "anthropic":
        return {"name": name, "description": description, "input_schema": schema}
    entry: dict[str, Any] = {"name": name, "description": description, "inputSchema": schema}
    if tool.output_schema is not None:
        entry["outputSchema"] = tool.output_schema
    return entry


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"
