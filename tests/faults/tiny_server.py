"""A minimal MCP stdio server with no imports beyond the standard library (starts in ~30 ms).

It speaks the 2025-11-25 handshake (``initialize``) and serves one tool, ``add(a, b)``; the
fault tests use it where they start hundreds of servers. Unknown methods get -32601, which also
makes a 2026-era client fall back from ``server/discover`` to ``initialize``.

Example:
    {"command": "python", "args": ["tests/faults/tiny_server.py"]}
"""

import json
import sys

ADD = {"name": "add", "description": "Add two integers.",
       "inputSchema": {"type": "object", "properties": {"a": {"type": "integer"},
                                                        "b": {"type": "integer"}},
                       "required": ["a", "b"]}}


def answer(request):
    method, params = request.get("method"), request.get("params") or {}
    if method == "initialize":
        return {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                "serverInfo": {"name": "tiny", "version": "1"}}
    if method == "tools/list":
        return {"tools": [ADD]}
    if method == "tools/call" and params.get("name") == "add":
        total = params["arguments"]["a"] + params["arguments"]["b"]
        return {"content": [{"type": "text", "text": str(total)}],
                "structuredContent": {"result": total}, "isError": False}
    if method == "ping":
        return {}
    return None


def main():
    for line in sys.stdin:
        request = json.loads(line)
        if "id" not in request:
            continue  # a notification
        result = answer(request)
        reply = {"jsonrpc": "2.0", "id": request["id"]}
        if result is None:
            reply["error"] = {"code": -32601, "message": f"no method {request.get('method')}"}
        else:
            reply["result"] = result
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
