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
from toolnav.catalog.sources import load_source
from toolnav.catalog.sqlite import SQLiteCatalogStore
from toolnav.errors import CatalogError, ToolNotFound
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
                   base_url: str | None = None) -> SourceChange:
        """Parse a source and make the catalog hold exactly its tools under its label.

        *base_url* sets where an OpenAPI document's API is served.

        Raises:
            SourceError, SchemaError: the source is unreadable or invalid; nothing changes.
        """
        source = load_source(spec, name=name, base_url=base_url)
        return self.add_tools(source.tools, source=source.name, servers=source.servers)

    def add_tools(self, tools: Iterable[Tool], *, source: str,
                  servers: Mapping[str, Mapping[str, Any]] | None = None) -> SourceChange:
        """Replace the tools (and downstream server configurations) filed under *source*.

        Raises:
            CatalogError: no source label, or a name clash that cannot be resolved.
        """
        if not source:
            raise CatalogError("a source label is required (for example the file name)")
        return self.store.replace_source(source, tools, servers=servers)

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


def _original(entry: CatalogEntry) -> Tool:
    """The stored tool under the name its source gave it (before any namespacing)."""
    tool = entry.tool
    return tool if tool.name == entry.original_name else tool.renamed(name=entry.original_name)
