"""The gateway over Streamable HTTP: the MCP endpoint plus health, readiness and metrics.

Built on the SDK's own pieces: `Server.streamable_http_app` serves ``/mcp`` (both protocol
eras), checks ``Host``/``Origin`` (DNS-rebinding protection) and the body size (413), and with
a token verifier answers 401 with ``WWW-Authenticate`` pointing at the RFC 9728 metadata it
serves. This module adds ``/healthz`` (liveness), ``/readyz`` (each downstream's state and the
search processes'), ``/metrics`` (Prometheus) and one JSON log line per HTTP request (never a
header or a token), which also names the tool call the request carried, if any
(`toolnav.server.logs.note_call`).

Example:
    app = build_http_app(gateway, HTTPOptions(port=8080), verifier=None)
    uvicorn.run(app, host="127.0.0.1", port=8080)
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

import anyio.to_thread
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from toolnav.errors import ConfigError
from toolnav.server.auth import StaticTokenVerifier
from toolnav.server.gateway import Gateway
from toolnav.server.logs import CALL_FIELDS

__all__ = ["DEFAULT_MAX_BODY_BYTES", "MCP_PATH", "HTTPOptions", "build_http_app"]

MCP_PATH = "/mcp"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")

access_logger = logging.getLogger("toolnav.server.http")


@dataclass(frozen=True)
class HTTPOptions:
    """Where and how the HTTP transport listens.

    Attributes:
        host: the interface to bind (loopback unless told otherwise).
        port: the TCP port.
        public_url: the MCP endpoint's URL as clients reach it (default
            ``http://HOST:PORT/mcp``); tokens are issued for it and the RFC 9728 metadata
            names it.
        allowed_origins: browser origins accepted besides loopback ones (``http://a.b:*``
            matches any port).
        allowed_hosts: ``Host`` headers accepted besides loopback ones.
        max_body_bytes: larger request bodies get 413.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    allowed_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"port {self.port} is out of range 1-65535")
        if self.max_body_bytes < 1024:
            raise ConfigError(f"max body size {self.max_body_bytes} is below 1024 bytes")

    @property
    def endpoint(self) -> str:
        """The MCP endpoint URL."""
        if self.public_url:
            return self.public_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{MCP_PATH}"


def build_http_app(gateway: Gateway, options: HTTPOptions,
                   verifier: StaticTokenVerifier | None = None) -> ASGIApp:
    """The ASGI app: ``/mcp``, ``/healthz``, ``/readyz``, ``/metrics`` and, with tokens, the
    protected-resource metadata. ``/readyz`` and ``/metrics`` need a valid token when tokens
    are configured; ``/healthz`` never does.

    Raises:
        ConfigError: an option is inconsistent.
    """
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{host}:*" for host in _LOOPBACK] + [*_LOOPBACK,
                                                              *options.allowed_hosts],
        allowed_origins=[f"http://{host}:*" for host in _LOOPBACK]
        + [f"https://{host}:*" for host in _LOOPBACK] + list(options.allowed_origins))
    auth = None
    if verifier is not None:
        origin = options.endpoint.split(MCP_PATH)[0]
        # Static tokens have no separate authorization server: the gateway issues them.
        auth = AuthSettings(issuer_url=origin, resource_server_url=options.endpoint,
                            validate_token_resource=True)
    ops = _Operations(gateway, token_required=verifier is not None)
    app: Starlette = gateway.mcp_server().streamable_http_app(
        streamable_http_path=MCP_PATH, transport_security=security,
        max_request_body_size=options.max_body_bytes, host=options.host, auth=auth,
        token_verifier=verifier,
        custom_starlette_routes=[Route("/healthz", ops.healthz, methods=["GET"]),
                                 Route("/readyz", ops.readyz, methods=["GET"]),
                                 Route("/metrics", ops.metrics, methods=["GET"])])
    return _AccessLog(app)


class _Operations:
    """The operational endpoints."""

    def __init__(self, gateway: Gateway, *, token_required: bool) -> None:
        self._gateway = gateway
        self._token_required = token_required

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        if refused := self._refuse(request):
            return refused
        states = await anyio.to_thread.run_sync(self._gateway.backend.states)
        downstreams = {state.name: {"state": state.state, "reconnects": state.reconnects,
                                    "tools": state.tools, "detail": state.detail}
                       for state in states}
        ready = all(state.state != "failed" for state in states)
        search = self._gateway.backend.search_state()
        return JSONResponse({"ready": ready, "downstreams": downstreams,
                             "search": asdict(search)},
                            status_code=200 if ready else 503)

    async def metrics(self, request: Request) -> Response:
        if refused := self._refuse(request):
            return refused
        body = await anyio.to_thread.run_sync(self._gateway.metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    def _refuse(self, request: Request) -> Response | None:
        if not self._token_required or isinstance(request.scope.get("user"),
                                                  AuthenticatedUser):
            return None
        return JSONResponse({"error": "invalid_token",
                             "error_description": "a bearer token is required"},
                            status_code=401, headers={"WWW-Authenticate": "Bearer"})


class _AccessLog:
    """One structured log line per HTTP request: method, path, status, seconds, and the tool
    call it carried (tool, outcome, caller, call_seconds) when the gateway noted one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        call: dict[str, object] = {}
        scope[CALL_FIELDS] = call

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            fields = {"event": "http", "method": scope.get("method", ""),
                      "path": scope.get("path", ""), "status": status,
                      "seconds": round(time.perf_counter() - started, 4), **call}
            call["written"] = True  # a call noted from now on logs a line of its own
            access_logger.info("http request", extra=fields)
