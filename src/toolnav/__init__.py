"""toolnav: find, render, validate and call the right tools among thousands, for LLM agents.

Example:
    from toolnav import Toolnav
    with Toolnav.open(".toolnav") as toolnav:
        toolnav.catalog.add_source("tools.json")
        for candidate in toolnav.router().route("weather in Paris", k=5).candidates: ...
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from toolnav.errors import ToolnavError
from toolnav.tool import Tool

if TYPE_CHECKING:
    from toolnav.agent import Agent
    from toolnav.catalog import Catalog
    from toolnav.route import Router
    from toolnav.runtime import Toolnav

__all__ = ["Agent", "Catalog", "Router", "Tool", "Toolnav", "ToolnavError"]

# Heavy parts load on first use, so `import toolnav` stays fast.
_LAZY = {"Agent": "toolnav.agent", "Catalog": "toolnav.catalog", "Router": "toolnav.route",
         "Toolnav": "toolnav.runtime"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'toolnav' has no attribute {name!r}")
