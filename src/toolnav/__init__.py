"""toolnav: find, render, validate and call the right tools among thousands, for LLM agents.

Example:
    from toolnav import Catalog, Router
    catalog = Catalog.open(".toolnav"); catalog.add_source("tools.json"); catalog.build_index()
    for candidate in Router.open(catalog).route("weather in Paris", k=5): print(candidate.name)
"""

from toolnav.errors import ToolnavError
from toolnav.tool import Tool

__all__ = ["Tool", "ToolnavError"]
