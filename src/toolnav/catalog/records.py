"""Stored tool records turned back into tools, read and built only when asked for.

A store keeps each tool as the JSON record `Tool.to_dict` gave (checked when it was stored), so
reading one back skips the schema checks. `LazyTools` stands for a whole catalog's tools by id
and reads and builds a tool on first access: a router over 50,000 tools reads and builds only
the few it returns (reading every record costs about 0.3 s on a small machine, parsing them all
about a second and a half).

Example:
    tools = LazyTools(rows.ids, rows.names, store.records); first = tools[0]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import overload

from toolnav.errors import ToolNotFound
from toolnav.tool import Tool

__all__ = ["LazyTools", "stored_tool"]


def stored_tool(record: str) -> Tool:
    """The tool a store kept as JSON *record* (validated when stored; not checked again)."""
    return Tool.from_dict(json.loads(record), trusted=True)


class LazyTools(Sequence[Tool]):
    """The tools with these ids, each read from the store and built on first access (then
    kept); iterating or slicing reads every missing record in one call.

    A tool is read when it is first wanted, so it is the record stored then: a tool updated
    since the ids were read comes back updated.

    Args:
        ids: the tools' store ids, in the order the tools are wanted.
        names: their names (for the error when one has left the store).
        fetch: the records of some ids, in that order, ``None`` for an id no longer stored
            (`toolnav.catalog.base.CatalogStore.records`).
    """

    def __init__(self, ids: Sequence[int], names: Sequence[str],
                 fetch: Callable[[Sequence[int]], list[str | None]]):
        self._ids = [int(i) for i in ids]
        self._names = names
        self._fetch = fetch
        self._tools: list[Tool | None] = [None] * len(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> Tool: ...

    @overload
    def __getitem__(self, index: slice) -> list[Tool]: ...

    def __getitem__(self, index: int | slice) -> Tool | list[Tool]:
        if isinstance(index, slice):
            positions = range(*index.indices(len(self)))
            self.load(positions)
            return [self._tools[i] for i in positions]
        tool = self._tools[index]
        if tool is None:
            self.load([index])
            tool = self._tools[index]
        return tool

    def __iter__(self) -> Iterator[Tool]:
        self.load(range(len(self)))
        return iter(list(self._tools))

    def load(self, positions: Iterable[int]) -> None:
        """Read and build the tools at *positions* not built yet, in one call to the store.

        Raises:
            ToolNotFound: one of them is no longer stored (removed after the ids were read).
        """
        missing = [i for i in positions if self._tools[i] is None]
        if not missing:
            return
        records = self._fetch([self._ids[i] for i in missing])
        for i, record in zip(missing, records, strict=True):
            if record is None:
                raise ToolNotFound(f"tool {self._names[i]!r} left the catalog after this list "
                                   "was read (a source was removed or re-added); search again")
            # Two threads may both build a tool: equal tools, either one is kept.
            self._tools[i] = stored_tool(record)
