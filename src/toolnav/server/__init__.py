"""The MCP server (`toolnav serve`): semantic tool search and validated calls over stdio and
Streamable HTTP, with token scopes, health, metrics and catalog sync.

Example:
    async with RuntimeBackend(Toolnav.open(".toolnav")) as backend:
        await serve_stdio(Gateway(backend))
"""

from toolnav.server.auth import StaticTokenVerifier, TokenGrant, load_tokens
from toolnav.server.backend import DownstreamState, GatewayBackend
from toolnav.server.gateway import EXPOSE_MODES, Gateway
from toolnav.server.http import HTTPOptions, build_http_app
from toolnav.server.metrics import GatewayMetrics
from toolnav.server.run import configure_server_process, serve_http, serve_stdio
from toolnav.server.sync import CatalogSync

__all__ = ["EXPOSE_MODES", "CatalogSync", "DownstreamState", "Gateway", "GatewayBackend",
           "GatewayMetrics", "HTTPOptions", "StaticTokenVerifier", "TokenGrant",
           "build_http_app", "configure_server_process", "load_tokens", "serve_http",
           "serve_stdio"]
