"""bench/server.py's decomposition: `toolnav serve --http --no-tasks` with the request encoder
taken out.

The same gateway, backend, router, HTTP app and process setup as ``toolnav serve``, except that
request vectors come from a memo (`toolnav.embed.RequestMemo`) filled before serving with every
request of the benchmark (a file of request texts, one JSON string per line). A search then
costs everything a real one does but the transformer's forward pass, so bench/server.py can
show how much of toolnav's CPU per request is the encoder and how much the rest.

Example:
    .venv/bin/python bench/toolnav_pre_embedded.py HOME requests.jsonl 8792
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import anyio

from toolnav.embed import RequestMemo, load_default_embedder
from toolnav.runtime import Toolnav
from toolnav.server import CatalogSync, Gateway, HTTPOptions, configure_server_process, serve_http
from toolnav.server.runtime_backend import RuntimeBackend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("requests", type=Path, help="JSON lines: one request text each")
    parser.add_argument("port", type=int)
    parser.add_argument("--embedding-cache", type=Path, default=None)
    args = parser.parse_args()
    toolnav = Toolnav.open(args.home, embedder=RequestMemo(load_default_embedder(args.home)),
                           embedding_cache=args.embedding_cache)
    router = toolnav.router(toolnav.settings.route)
    for line in args.requests.read_text(encoding="utf-8").splitlines():
        router.route(json.loads(line))  # fills the memo
    configure_server_process(logging.INFO)

    async def run() -> None:
        async with RuntimeBackend(toolnav) as backend:
            gateway = Gateway(backend)
            sync = CatalogSync(backend, metrics=gateway.metrics)
            await serve_http(gateway, HTTPOptions(port=args.port), None, sync)

    with toolnav:
        anyio.run(run)


if __name__ == "__main__":
    main()
