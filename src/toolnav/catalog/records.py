"""Stored tool records turned back into tools, one at a time and only when asked for.

A store keeps each tool as the JSON record `Tool.to_dict` gave (checked when it was stored), so
reading one back skips the schema checks. `LazyTools` holds a whole catalog's records and builds
a tool on first access: a router over 50,000 tools only builds the few it returns (parsing every
record costs about a second and a half on a small machine).

Example:
    tools = LazyTools([row_data for row_data in rows]); first = tools[0]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import overload

from toolnav.tool import Tool

__all__ = ["LazyTools", "stored_tool"]


def stored_tool(record: str) -> Tool:
    """The tool a store kept as JSON *record* (validated when stored; not checked again)."""
    return Tool.from_dict(json.loads(record), trusted=True)


class LazyTools(Sequence[Tool]):
    """A sequence of tools built from stored JSON records on first access (then kept).

    Args:
        records: the records, in the order the tools are wanted.
    """

    def __init__(self, records: list[str]):
        self._records = records
        self._tools: list[Tool | None] = [None] * len(records)

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> Tool: ...

    @overload
    def __getitem__(self, index: slice) -> list[Tool]: ...

    def __getitem__(self, index: int | slice) -> Tool | list[Tool]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        tool = self._tools[index]
        if tool is None:  # two threads may both build it: equal tools, either one is kept
            tool = self._tools[index] = stored_tool(self._records[index])
        return tool
