"""The Catalog: tools from many sources, kept in a `CatalogStore`, found by name.

`Catalog` parses sources (`toolnav.catalog.sources`), files their tools and downstream server
configurations in the store, and answers lookups with helpful errors. It knows nothing of
embeddings or indexes: `toolnav.indexing` keeps those in step with the store's version, and
`toolnav.runtime.Toolnav` wires the two together.

Example:
    catalog = Catalog.open(".toolnav"); change = catalog.add_source("tools.json")
    tool = catalog.get("get_weather")
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from toolnav.catalog.base import CatalogEntry, CatalogStore, SourceChange
from toolnav.catalog.sources import read_source
from toolnav.catalog.sources.openai_json import tool_from_item
from toolnav.catalog.sqlite import SQLiteCatalogStore
from toolnav.errors import CatalogError, SourceError, ToolNotFound
from toolnav.progress import Progress, no_progress
from toolnav.tool import Tool

__all__ = ["DEFAULT_FEEDBACK_ALPHA", "Catalog"]

DEFAULT_FEEDBACK_ALPHA = 0.2
CATALOG_FILE = "catalog.db"


class Catalog:
    """Tools and downstream server configurations, over a `CatalogStore`.

    Args:
        store: where tools are kept (`SQLiteCatalogStore` for a home directory).
    """

    def __init__(self, store: CatalogStore):
        self.store = store

    @classmethod
    def open(cls, home: str | Path) -> Catalog:
        """The catalog of a home directory (created if needed), in its ``catalog.db``.

        Raises:
            CatalogError: the directory or database is not usable.
        """
        home = Path(home)
        try:
            home.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CatalogError(f"cannot create toolnav home {home}: {error.strerror}") from None
        return cls(SQLiteCatalogStore(home / CATALOG_FILE))

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()

    @property
    def version(self) -> int:
        """Increases whenever the set of tools changes."""
        return self.store.version

    def __len__(self) -> int:
        return self.store.count()

    def add_source(self, spec: str | Path, *, name: str | None = None,
                   base_url: str | None = None, progress: Progress = no_progress
                   ) -> SourceChange:
        """Parse a source and make the catalog hold exactly its tools under its label.

        *base_url* sets where an OpenAPI document's API is served; *progress* hears how far
        building a large tools file's tools has got. A file or URL whose text is
        the same as when it was last added, with its tools untouched since, is not parsed again
        (MCP server configurations and Python modules always are: their tools do not follow
        from their text alone).

        Raises:
            SourceError, SchemaError: the source is unreadable or invalid; nothing changes.
        """
        text = read_source(spec, name=name, base_url=base_url)
        digest = text.digest
        if digest is not None and self.store.source_digest(text.name) == digest:
            return SourceChange(text.name, [], [], self.store.sources().get(text.name, 0), [], {})
        source = text.parse(progress)
        return self._replace(source.name, source.tools, source.servers,
                             None if source.servers else digest)

    def add_tools(self, tools: Iterable[Tool | Mapping[str, Any]], *, source: str,
                  servers: Mapping[str, Mapping[str, Any]] | None = None) -> SourceChange:
        """Replace the tools (and downstream server configurations) filed under *source*.

        Args:
            tools: `Tool` objects, or tool definitions as JSON objects in any shape a tools
                file takes (``{"name", "description", "parameters"}``, OpenAI's
                ``{"type": "function", "function": {...}}``, MCP's ``inputSchema``).
            source: the label the tools are filed under.
            servers: downstream MCP server configurations by name, for tools bound to them.

        Returns:
            What changed.

        Raises:
            SourceError, SchemaError: a tool definition is unusable, or two tools share a name
                (the message names them by position); nothing changes.
            CatalogError: no source label, or a name clash that cannot be resolved.
        """
        built = [_as_tool(tool, source, position) for position, tool in enumerate(tools)]
        return self._replace(source, built, servers, None)

    def _replace(self, source: str, tools: list[Tool],
                 servers: Mapping[str, Mapping[str, Any]] | None, digest: str | None
                 ) -> SourceChange:
        if not source:
            raise CatalogError("a source label is required (for example the file name)")
        first: dict[str, int] = {}
        for position, tool in enumerate(tools):
            if first.setdefault(tool.name, position) != position:
                raise SourceError(f"source {source!r}: tools #{first[tool.name]} and #{position} "
                                  f"are both named {tool.name!r}; names must be unique within a "
                                  "source")
        return self.store.replace_source(source, tools, servers=servers, digest=digest)

    def replace_server_tools(self, server: str, tools: Iterable[Tool]) -> SourceChange:
        """Replace the tools of one downstream server (after it announced a change), keeping
        the other servers of its source as they are.

        Raises:
            CatalogError: no server of that name is configured.
        """
        owners = self.store.server_names()
        source = owners.get(server)
        if source is None:
            raise CatalogError(f"no MCP server named {server!r} is configured")
        kept = [_original(entry) for entry in self.store.entries()
                if entry.tool.source == source and entry.tool.namespace != server]
        servers = {name: self.store.server_config(name)
                   for name, owner in owners.items() if owner == source}
        return self.store.replace_source(source, [*kept, *tools], servers=servers)

    def remove(self, names: Iterable[str]) -> int:
        """Remove tools by name; returns how many were removed."""
        return self.store.remove(names)

    def get(self, name: str) -> Tool:
        """The tool with that name.

        Raises:
            ToolNotFound: no such tool; the message suggests close names.
        """
        entry = self.store.get(name)
        if entry is None:
            known = [entry.tool.name for entry in self.store.entries()]
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
            hint = (f"; did you mean {', '.join(close)}?" if close
                    else "; `toolnav search` finds tools")
            raise ToolNotFound(f"no tool named {name!r} in the catalog{hint}")
        return entry.tool

    def tools(self) -> list[Tool]:
        """Every tool, in insertion order."""
        return [entry.tool for entry in self.store.entries()]

    def summaries(self) -> list[tuple[str, str, str]]:
        """(name, source, description) of every tool, in insertion order: a listing that
        builds no `Tool` (fast on large catalogs)."""
        return self.store.summaries()

    def entries(self) -> list[CatalogEntry]:
        """Every tool with its stable id and original (pre-namespace) name."""
        return self.store.entries()

    def sources(self) -> dict[str, int]:
        """Tool count per source label."""
        return self.store.sources()

    def server_config(self, name: str) -> dict[str, Any] | None:
        """The configuration of downstream server *name* (secrets included: never show it)."""
        return self.store.server_config(name)

    def feedback_scores(self) -> dict[str, tuple[float, int]]:
        """Tool name -> (weighted success rate in [0, 1], number of recorded outcomes)."""
        return self.store.feedback()

    def record_outcome(self, name: str, success: bool, alpha: float = DEFAULT_FEEDBACK_ALPHA
                       ) -> tuple[float, int]:
        """Record one call outcome of a tool; returns its new (success rate, outcomes)."""
        self.get(name)
        return self.store.record_outcome(name, success, alpha)

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _as_tool(tool: object, source: str, position: int) -> Tool:
    """A `Tool` as it is, a JSON tool definition parsed like a line of a tools file."""
    if isinstance(tool, Tool):
        return tool
    location = f"add_tools(source={source!r}): tool #{position}"
    if isinstance(tool, Mapping):
        return tool_from_item(tool, source=source, location=location)
    raise SourceError(f"{location} is a {type(tool).__name__}; pass toolnav.Tool objects or "
                      "tool definitions as dicts (for example {\"name\": ..., \"description\": "
                      "..., \"parameters\": {...}})")


def _original(entry: CatalogEntry) -> Tool:
    """The stored tool under the name its source gave it (before any namespacing)."""
    tool = entry.tool
    return tool if tool.name == entry.original_name else tool.renamed(name=entry.original_name)
