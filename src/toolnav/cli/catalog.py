"""Catalog commands: add (and re-sync) sources, remove tools, list them, index them."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

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

MAX_NAME_COLUMN = 48  # longer names and sources push their row's later columns right


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
        for source in sources:
            change = catalog.add_source(source, name=name, base_url=base_url, progress=update)
            console.print(
                f"[bold]{change.source}[/]: {len(change.added)} added, {len(change.updated)} "
                f"updated, {change.unchanged} unchanged, {len(change.removed)} removed")
            for original, final in change.renamed.items():
                console.print(f"  {original} is also defined by another source; "
                              f"stored as [bold]{final}[/]")
        console.print(f"catalog: {len(catalog)} tools in {len(catalog.sources())} sources")


def remove(names: Annotated[list[str], typer.Argument(help="Tool names to remove.",
                                                     show_default=False)]) -> None:
    """Remove tools by name."""
    with open_runtime() as toolnav:
        for tool_name in names:
            toolnav.catalog.get(tool_name)  # a precise error for a typo, before any change
        console.print(f"removed {toolnav.catalog.remove(names)} tools")


def list_tools(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (one tool a line).")] = False,
) -> None:
    """List the tools in the catalog."""
    with open_runtime() as toolnav:
        if as_json:
            records = [tool.to_dict() for tool in toolnav.catalog.tools()]
        else:
            rows = toolnav.catalog.summaries()
    if as_json:  # the C encoder (no indent), one tool a line: 50k tools in about a second
        body = ",\n".join(json.dumps(record, ensure_ascii=False) for record in records)
        sys.stdout.write(f"[\n{body}\n]\n" if records else "[]\n")
        return
    if not rows:
        error_console.print("the catalog is empty; add tools with `toolnav add SOURCE`")
        return
    # Plain aligned columns, written at once: a rich table measures every cell (30 s for 50k).
    name_width = min(max(len("name"), *(len(name) for name, _, _ in rows)), MAX_NAME_COLUMN)
    source_width = min(max(len("source"), *(len(source) for _, source, _ in rows)),
                       MAX_NAME_COLUMN)
    lines = [f"{'name':<{name_width}}  {'source':<{source_width}}  description"]
    lines += [f"{name:<{name_width}}  {source:<{source_width}}  {first_line(description)}"
              for name, source, description in rows]
    sys.stdout.write("\n".join(lines) + "\n")


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
