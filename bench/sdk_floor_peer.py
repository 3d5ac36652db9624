"""The floor of bench/server.py: the MCP SDK's own HTTP stack answering ``search_tools`` with no
search at all.

The same SDK version, low-level `Server`, `streamable_http_app` and uvicorn settings that
`toolnav serve --http` uses, with one ``search_tools`` tool whose answer is fixed: the first
*k* tools of the catalog file, with their input schemas, in toolnav's result shape (so the
answer is as large as a real one). No embedding, no index, no validation, no metrics, no log
line, no tools/list walk for the ``Mcp-Param`` header check. Whatever requests/s this reaches
under bench/server.py's load is the most any gateway built on this SDK and transport can reach
on the machine; toolnav's own cost is the gap.

Example:
    .venv/bin/python bench/sdk_floor_peer.py tools.jsonl 8791 --k 5
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

import mcp_types as types
import uvicorn
from mcp.server import Server, ServerRequestContext

SEARCH_TOOL = types.Tool(name="search_tools", description="Fixed answer: the SDK floor.",
                         input_schema={"type": "object",
                                       "properties": {"query": {"type": "string"},
                                                      "k": {"type": "integer"}},
                                       "required": ["query"]})


def build(tools_file: Path, k: int) -> Server:
    """A server whose ``search_tools`` always answers the first *k* tools of *tools_file*."""
    with tools_file.open(encoding="utf-8") as lines:
        fixed = [{**json.loads(line), "score": 0.5} for line in itertools.islice(lines, k)]
    answer = {"tools": fixed}
    text = json.dumps(answer, ensure_ascii=False)

    async def list_tools(ctx: ServerRequestContext, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[SEARCH_TOOL])

    async def call_tool(ctx: ServerRequestContext, params: types.CallToolRequestParams
                        ) -> types.CallToolResult:
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                    structured_content=answer)

    # No x-mcp-header parameter to check: the SDK skips listing tools on every call, as it
    # does for toolnav's gateway (`Gateway._input_schema`).
    return Server("sdk-floor", on_list_tools=list_tools, on_call_tool=call_tool,
                  get_tool_input_schema=lambda name: None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tools", type=Path, help="JSON lines: name, description, inputSchema")
    parser.add_argument("port", type=int)
    parser.add_argument("--k", type=int, default=5, help="tools in the fixed answer")
    args = parser.parse_args()
    app = build(args.tools, args.k).streamable_http_app(streamable_http_path="/mcp",
                                                        host="127.0.0.1")
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False,
                lifespan="on")


if __name__ == "__main__":
    main()
