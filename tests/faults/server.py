"""Small real MCP servers that misbehave on purpose, for fault tests (one script, one mode each).

Run as ``python tests/faults/server.py MODE [--http PORT]``. Every mode but ``garbage`` serves the
healthy tools (``add``, ``echo``, ``slow``, ``header``, ``env``, ``pid``) plus its fault
(`tiny_server.py` is a dependency-free server for tests that start hundreds):

- ``healthy``: nothing else.
- ``hang``: ``hang`` never returns.
- ``die``: ``die`` kills the process (``os._exit``) in the middle of the call.
- ``garbage``: (`garbage_server.py`, which starts at once) does not speak MCP at all; it writes
  text lines to stdout and never answers.
- ``changing``: ``grow(name)`` adds a tool called *name* and announces it with
  ``notifications/tools/list_changed``.

Example:
    python tests/faults/server.py hang
    python tests/faults/server.py changing --http 8771
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

import anyio
from mcp.server.mcpserver import Context, MCPServer


def build(mode: str) -> MCPServer:
    """The server for *mode* (see the module docstring)."""
    server = MCPServer(f"fault-{mode}")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool()
    async def slow(seconds: float, marker: str = "") -> str:
        """Sleep, then say how long; create the file *marker* (if given) to prove it finished."""
        await anyio.sleep(seconds)
        if marker:
            Path(marker).write_text("finished")
        return f"slept {seconds}"

    @server.tool()
    def header(name: str, ctx: Context) -> str:
        """The value of HTTP request header *name* ("" over stdio or when absent)."""
        request = ctx.request_context.request
        return "" if request is None else request.headers.get(name, "")

    @server.tool()
    def env(name: str) -> str:
        """The value of environment variable *name* in the server process ("" when unset)."""
        return os.environ.get(name, "")

    @server.tool()
    def pid() -> int:
        """The server's process id (tests use it to kill the server)."""
        return os.getpid()

    if mode == "hang":
        @server.tool()
        async def hang() -> str:
            """Never returns."""
            await anyio.sleep_forever()
            return "unreachable"

    if mode == "die":
        @server.tool()
        def die() -> str:
            """Kills the server process while the call is in flight."""
            time.sleep(0.1)
            os._exit(3)

    if mode == "changing":
        @server.tool()
        async def grow(name: str, ctx: Context) -> str:
            """Add a tool called *name* and tell the client the tool list changed."""
            server.add_tool(lambda: name, name=name, description=f"added at run time: {name}")
            await ctx.notify_tools_changed()  # 2026-07-28 clients: subscriptions/listen
            with contextlib.suppress(Exception):  # 2025-11-25 clients: a session notification
                await ctx.session.send_tool_list_changed()
            return f"added {name}"

    return server


def main(argv: list[str]) -> None:
    server = build(argv[0] if argv else "healthy")
    if len(argv) == 3 and argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(argv[2]))
    else:
        server.run()


if __name__ == "__main__":
    main(sys.argv[1:])
