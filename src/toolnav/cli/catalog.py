"""Catalog commands: add (and re-sync) sources, remove tools, list them, index them."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from toolnav.cli._common import (
    console,
    error_console,
    first_line,
    open_runtime,
    progress,
    require_tools,
)
from toolnav.errors import ConfigError

__all__ = ["add", "index", "list_tools", "remove"]


def add(
    sources: Annotated[list[str], typer.Argument(help=(
        "Tool sources: .json/.jsonl files, OpenAPI documents (files or http(s) URLs), "
        "mcpServers configs, .py files, dataset folders, or python:package.module."),
        show_default=False)],
    name: Annotated[str | None, typer.Option(
        "--name", help="Source label (default: file stem or module name).")] = None,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="Where an OpenAPI document's API is served.")] = None,
) -> None:
    """Add tools from sources, or re-sync sources added before (adds, updates, removes)."""
    if name and len(sources) > 1:
        raise ConfigError("--name applies to one source; add several sources one at a time")
    with open_runtime() as toolnav, progress() as update:
        catalog = toolnav.catalog
        for done, source in enumerate(sources):
            update("adding sources", done, len(sources))
            change = catalog.add_source(source, name=name, base_url=base_url)
            console.print(
                f"[bold]{change.source}[/]: {len(change.added)} added, {len(change.updated)} "
                f"updated, {change.unchanged} unchanged, {len(change.removed)} removed")
            for original, final in change.renamed.items():
                console.print(f"  {original} is also defined by another source; "
                              f"stored as [bold]{final}[/]")
        update("adding sources", len(sources), len(sources))
        console.print(f"catalog: {len(catalog)} tools in {len(catalog.sources())} sources")


def remove(names: Annotated[list[str], typer.Argument(help="Tool names to remove.",
                                                     show_default=False)]) -> None:
    """Remove tools by name."""
    with open_runtime() as toolnav:
        for tool_name in names:
            toolnav.catalog.get(tool_name)  # a precise error for a typo, before any change
        console.print(f"removed {toolnav.catalog.remove(names)} tools")


def list_tools(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the tools in the catalog."""
    with open_runtime() as toolnav:
        tools = toolnav.catalog.tools()
    if as_json:
        print(json.dumps([tool.to_dict() for tool in tools], indent=2, ensure_ascii=False))
        return
    table = Table("name", "source", "description")
    for tool in tools:
        table.add_row(tool.name, tool.source, first_line(tool.description))
    console.print(table)


def index(
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if unchanged.")] = False,
) -> None:
    """Embed new or changed tools and build the vector index."""
    with open_runtime() as toolnav:
        require_tools(toolnav)
        with progress() as update:
            report = toolnav.index(update, force=force)
    state_text = ("updated in place" if report.updated_in_place
                  else "rebuilt" if report.rebuilt else "unchanged, kept")
    console.print(f"{report.tools} tools: {report.embedded} embedded, {report.cached} from the "
                  f"embedding cache; index {state_text}; {report.seconds:.2f} s")
    if not report.embedded and not report.rebuilt:
        error_console.print("nothing to do: no tool changed since the last index")
