"""An MCP server whose tools are read from a JSON file on every tools/list (tests edit the
file to add, change and remove tools at run time). Each tool echoes its arguments.

Example:
    python tests/server/mutable_server.py tools.json 8123   # http://127.0.0.1:8123/mcp
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mcp_types as types
import uvicorn
from mcp.server import Server


def build(tools_file: Path) -> Server:
    def current() -> list[types.Tool]:
        return [types.Tool(**entry) for entry in json.loads(tools_file.read_text())]

    async def list_tools(ctx, params) -> types.ListToolsResult:
        return types.ListToolsResult(tools=current())

    async def call_tool(ctx, params) -> types.CallToolResult:
        text = json.dumps({"tool": params.name, "arguments": params.arguments or {}})
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)])

    return Server("mutable", on_list_tools=list_tools, on_call_tool=call_tool)


if __name__ == "__main__":
    server = build(Path(sys.argv[1]))
    uvicorn.run(server.streamable_http_app(), host="127.0.0.1", port=int(sys.argv[2]),
                log_level="warning")
