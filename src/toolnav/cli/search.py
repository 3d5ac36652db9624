"""`toolnav search`: the tools that fit a request, as a table or JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from toolnav.cli._common import console, first_line, open_runtime, progress, require_tools, state
from toolnav.errors import ConfigError

if TYPE_CHECKING:
    from toolnav.route import RouteResult

__all__ = ["Method", "print_result", "search"]


class Method(StrEnum):
    """How tools are ranked (see `toolnav.route.Router.route`)."""

    hybrid = "hybrid"
    dense = "dense"
    bm25 = "bm25"


def search(
    request: Annotated[str, typer.Argument(help="What the user wants done.", show_default=False)],
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="How many tools.")] = 5,
    method: Annotated[Method, typer.Option(help="How to rank.")] = Method.hybrid,
    schema: Annotated[bool, typer.Option("--schema", help="Show input schemas.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find the tools that fit a request."""
    if not request.strip():
        raise ConfigError("the request is empty; say what you want done, for example "
                          "`toolnav search \"weather in Paris\"`")
    with open_runtime() as toolnav:
        require_tools(toolnav)
        with progress() as update:
            # One request per process: exact search beats loading the NSG search kernels.
            router = toolnav.router(replace(state.settings.route, exact_search=True), update)
        result = router.route(request, k=k, method=method.value)
    if as_json:
        print(json.dumps(result_json(result), indent=2, ensure_ascii=False))
        return
    print_result(request, result, schema=schema)


def print_result(request: str, result: RouteResult, *, schema: bool, schema_rows: int = 99
                 ) -> None:
    """Show ranked candidates (and, with *schema*, the first *schema_rows* input schemas)."""
    console.rule(f"[bold]{request}")
    if result.abstained:
        console.print(f"[yellow]no tool fits[/] (best score {result.best_score:.3f}, lift "
                      f"{result.lift:.3f})")
    table = Table("#", "tool", "score", "description", box=None)
    for candidate in result.candidates:
        table.add_row(str(candidate.rank), f"[bold]{candidate.tool.name}[/]",
                      f"{candidate.score:.3f}", first_line(candidate.tool.description))
    console.print(table)
    if schema:
        for candidate in result.candidates[:schema_rows]:
            console.print(f"[dim]{candidate.tool.name} input schema:[/]")
            console.print_json(data=candidate.tool.input_schema)


def result_json(result: RouteResult) -> dict:
    """The route result as JSON-ready data (tools in full, scores and reasons)."""
    return {
        "abstained": result.abstained,
        "best_score": result.best_score,
        "lift": result.lift,
        "candidates": [{"rank": c.rank, "score": c.score, "reasons": c.reasons,
                        **c.tool.to_dict()} for c in result.candidates],
    }
