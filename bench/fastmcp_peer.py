"""The peer gateway of bench/server.py: FastMCP with `BM25SearchTransform` over a tool catalog.

Runs under a separate virtualenv holding FastMCP 4.x (its pins clash with ours; see
bench/server.py for how to create it), never imports toolnav. Reads a JSON-lines file of tools
(``{"name", "description", "inputSchema"}``, written by bench/server.py from the same catalog
toolnav serves), registers each as a FastMCP tool with that exact schema, collapses them with
``BM25SearchTransform(max_results=K)`` (clients see ``search_tools`` and ``call_tool``) and
serves Streamable HTTP on ``127.0.0.1:PORT/mcp`` until killed.

Example:
    /work/scratch/fastmcp-venv/bin/python bench/fastmcp_peer.py tools.jsonl 8790 --k 5
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from fastmcp import FastMCP
from fastmcp.server.transforms.search import BM25SearchTransform
from fastmcp.tools.base import Tool, ToolResult


class CatalogTool(Tool):
    """A catalog tool with the schema the catalog gives; a call only says it was reached (the
    benchmark searches, it does not call)."""

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        return ToolResult(content=f"{self.name} reached")


def build(tools_file: Path, k: int) -> FastMCP:
    """The gateway over every tool of *tools_file*, searched by BM25 for the top *k*."""
    server = FastMCP("fastmcp-bm25-peer")
    for line in tools_file.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        server.add_tool(CatalogTool(name=record["name"], description=record["description"],
                                    parameters=record["inputSchema"]))
    server.add_transform(BM25SearchTransform(max_results=k))
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tools", type=Path, help="JSON lines: name, description, inputSchema")
    parser.add_argument("port", type=int)
    parser.add_argument("--k", type=int, default=5, help="tools returned per search")
    args = parser.parse_args()
    build(args.tools, args.k).run(transport="http", host="127.0.0.1", port=args.port,
                                  log_level="warning", show_banner=False)


if __name__ == "__main__":
    main()
