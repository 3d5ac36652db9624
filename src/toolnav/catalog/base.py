"""The CatalogStore protocol: what every catalog backend (SQLite now, Postgres for replicas) keeps.

A store holds tools (with stable integer ids, also their ids in the vector index), the
configurations of downstream servers (stored once, by server name: the only place their secrets
live), a digest of each source's text (so an unchanged source is not parsed again), per-tool
feedback, and a version counter bumped by every change to the set of tools, so
readers (the router, replicas) notice changes with one cheap read; a fingerprint (the version and
a random revision drawn at each bump) names one state of the tools for caches kept beside the
store (a saved BM25 index), so a recreated or copied-then-changed catalog never matches a
cache written for another one. Parsing sources and
namespacing policy sit above it in `toolnav.catalog.catalog`; embedding and indexing in
`toolnav.indexing`.

Example:
    change = store.replace_source("weather", tools, servers={})
    if store.version != seen: refresh()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from toolnav.tool import Tool

__all__ = ["CatalogEntry", "CatalogStore", "RoutingRows", "SourceChange"]


@dataclass(frozen=True)
class CatalogEntry:
    """A stored tool with its stable integer id (also its id in the vector index)."""

    id: int
    tool: Tool
    original_name: str


@dataclass(frozen=True)
class SourceChange:
    """What replacing one source's tools did."""

    source: str
    added: list[str]
    updated: list[str]
    unchanged: int
    removed: list[str]
    renamed: dict[str, str]


@dataclass(frozen=True)
class RoutingRows:
    """What a router needs of every stored tool, read at one moment, in id order.

    Attributes:
        fingerprint: names this state of the tools (`CatalogStore.fingerprint`).
        ids: the tools' ids.
        names: their names.
        groups: their groups, ``""`` for none.
    """

    fingerprint: str
    ids: list[int]
    names: list[str]
    groups: list[str]


@runtime_checkable
class CatalogStore(Protocol):
    """Persistent tools, server configurations, feedback and a change counter.

    Every method is safe to call from several threads; every multi-row change is atomic.
    """

    @property
    def version(self) -> int:
        """A counter that increases with every change to the set of tools."""
        ...

    @property
    def fingerprint(self) -> str:
        """Names the current state of the tools: changes with every change to them (like
        `version`) and differs between two stores whatever their histories, so a cache kept
        beside the store (a saved BM25 index) can be keyed on it."""
        ...

    def entries(self) -> list[CatalogEntry]:
        """Every stored tool, in id order."""
        ...

    def routing_rows(self) -> RoutingRows:
        """Ids, names and groups of every stored tool and the `fingerprint` of that state, read
        together: what a router needs, without reading any tool's record (a router builds
        only the tools it returns: `toolnav.catalog.records.LazyTools`)."""
        ...

    def records(self, ids: Sequence[int]) -> list[str | None]:
        """The JSON records (as `Tool.to_dict` gave them) of the tools with these ids, in that
        order; ``None`` for an id no longer stored."""
        ...

    def summaries(self) -> list[tuple[str, str, str]]:
        """(name, source, description) of every stored tool, in id order, without building
        tools (a listing of 50k tools must not parse 50k schemas)."""
        ...

    def get(self, name: str) -> CatalogEntry | None:
        """The entry with that exact name, if any."""
        ...

    def count(self) -> int:
        """Number of stored tools."""
        ...

    def sources(self) -> dict[str, int]:
        """Tool count per source label."""
        ...

    def replace_source(self, source: str, tools: Iterable[Tool], *,
                       servers: Mapping[str, Mapping[str, Any]] | None = None,
                       digest: str | None = None) -> SourceChange:
        """Make the store hold exactly *tools* (and, if given, *servers*) for *source*.

        A tool whose name another source already uses is stored as ``source__name``.
        *digest* identifies the text the tools were parsed from (`source_digest` returns it);
        ``None`` forgets any digest kept for *source*.

        Raises:
            CatalogError: a name cannot be made unique, or a server name belongs to another
                source.
        """
        ...

    def source_digest(self, source: str) -> str | None:
        """The digest given with the last `replace_source` of *source*, or ``None`` when there
        was none or the source's tools changed since in any way (a removal, an update)."""
        ...

    def remove(self, names: Iterable[str]) -> int:
        """Delete tools by name; returns how many existed."""
        ...

    def server_config(self, name: str) -> dict[str, Any] | None:
        """The stored configuration of downstream server *name* (with its secrets), if any."""
        ...

    def server_names(self) -> dict[str, str]:
        """Downstream server name -> the source that defines it (no configurations)."""
        ...

    @property
    def feedback_version(self) -> int:
        """A counter that increases with every recorded outcome."""
        ...

    def feedback(self) -> dict[str, tuple[float, int]]:
        """Tool name -> (success rate as an exponentially weighted average, outcome count)."""
        ...

    def record_outcome(self, name: str, success: bool, alpha: float) -> tuple[float, int]:
        """Fold one call outcome into the tool's weighted success rate; returns the new state."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
