#!/usr/bin/env bash
# Run the official MCP conformance suite (server scenarios) against `toolnav serve --http`.
# Builds a throwaway catalog (examples/python_tools.py, the example MCP server, the suite's
# fixture tools), serves it with --expose all, runs every server scenario, prints each one's
# result, and exits non-zero if a scenario fails that is not in
# tests/server/conformance/expected-failures.yml (docs/conformance.md explains each entry).
#
#   scripts/conformance.sh     # PYTHON=... chooses the interpreter; CONFORMANCE_OUTPUT=DIR
#                              # keeps the suite's per-scenario checks.json files
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
TOOLS="$("$ROOT/tests/tools/install_node_tools.sh")"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
toolnav() { "$PYTHON" -m toolnav --home "$WORK/home" "$@"; }

printf '{"mcpServers": {"calc": {"command": "%s", "args": ["%s"]}}}\n' \
    "$PYTHON" "$ROOT/examples/mcp_server.py" > "$WORK/servers.json"
toolnav add "$ROOT/examples/python_tools.py" "$WORK/servers.json" \
    "$ROOT/tests/server/conformance/fixture_tools.py" \
    "$ROOT/tests/server/conformance/input_tools.py" \
    "$ROOT/tests/server/conformance/schema_tools.json" >&2
PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# Started directly (not through the toolnav function, whose subshell would get the PID and
# leave the server running when killed).
"$PYTHON" -m toolnav --home "$WORK/home" serve --http "127.0.0.1:$PORT" --expose all \
    > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 600); do
    if "$PYTHON" -c "import httpx, sys; sys.exit(httpx.get('http://127.0.0.1:$PORT/healthz').status_code != 200)" 2>/dev/null; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$WORK/serve.log" >&2; exit 1; fi
    sleep 0.2
done

set +e
"$TOOLS/bin/node" "$TOOLS/node_modules/@modelcontextprotocol/conformance/dist/index.js" server \
    --url "http://127.0.0.1:$PORT/mcp" --suite all \
    --expected-failures "$ROOT/tests/server/conformance/expected-failures.yml" \
    -o "${CONFORMANCE_OUTPUT:-$WORK/results}" > "$WORK/conformance.txt" 2>&1
STATUS=$?
set -e
# The per-scenario summary and the baseline verdict.
sed -n '/=== SUMMARY ===/,$p' "$WORK/conformance.txt"
exit $STATUS
