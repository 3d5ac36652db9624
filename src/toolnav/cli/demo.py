"""`toolnav demo`: index standard-library functions as tools and route example requests."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from toolnav.cli._common import console, progress, state
from toolnav.cli.demo_catalog import DEMO_REQUESTS, demo_sources
from toolnav.cli.search import print_result
from toolnav.runtime import EMBEDDING_CACHE_FILE, Toolnav

__all__ = ["demo"]


def demo(
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="Tools per request.")] = 3,
) -> None:
    """Index a catalog of Python standard-library tools and route example requests."""
    settings = replace(state.settings, home=state.settings.home / "demo")
    with Toolnav.open(settings, embedding_cache=state.settings.home / EMBEDDING_CACHE_FILE
                      ) as toolnav:
        for source in demo_sources():
            toolnav.catalog.add_tools(source.tools, source=source.name)
        console.print(f"demo catalog: {len(toolnav.catalog)} tools from "
                      f"{len(toolnav.catalog.sources())} standard-library modules, in "
                      f"{settings.home}")
        with progress() as update:
            report = toolnav.index(update)
        console.print(f"indexed: {report.embedded} embedded, {report.cached} cached, "
                      f"{report.seconds:.1f} s")
        router = toolnav.router()
        for request in DEMO_REQUESTS:
            print_result(request, router.route(request, k=k), schema=True, schema_rows=1)
