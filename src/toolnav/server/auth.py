"""Bearer tokens with namespace scopes for the HTTP transport.

A token file (JSON or TOML) lists who may connect and which namespaces (MCP server names or
source labels; ``"*"`` for all) each may search and call:

    {"tokens": [{"name": "alice", "token": "<32+ random chars>", "namespaces": ["calc"]}]}

`StaticTokenVerifier` plugs into the MCP SDK's bearer-auth middleware (which answers 401 with
``WWW-Authenticate`` pointing at the RFC 9728 metadata); `namespaces_in_scope` reads the
caller's scopes inside a request handler. Tokens are compared in constant time and never
appear in logs, errors or ``repr``.

Example:
    verifier = StaticTokenVerifier(load_tokens("tokens.json"), resource="http://127.0.0.1:8080/mcp")
    allowed = namespaces_in_scope(ctx)   # None: every namespace
"""

from __future__ import annotations

import hashlib
import hmac
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

from toolnav.errors import ConfigError

__all__ = ["ALL_NAMESPACES", "MIN_TOKEN_CHARS", "StaticTokenVerifier", "TokenGrant",
           "caller_name", "load_tokens", "namespaces_in_scope"]

ALL_NAMESPACES = "*"
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class TokenGrant:
    """Who a token belongs to and what it may reach (the token itself is kept as a digest)."""

    name: str
    namespaces: frozenset[str]
    digest: bytes = field(repr=False)


def load_tokens(path: str | Path) -> list[TokenGrant]:
    """Read a token file (``.toml``, else JSON; see the module docstring).

    Raises:
        ConfigError: the file is missing or malformed, a token is short or repeated, a name
            is repeated, or an entry has no namespaces.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"token file {path}: {error.strerror}") from None
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"token file {path} is not valid "
                          f"{'TOML' if path.suffix.lower() == '.toml' else 'JSON'}: {error}"
                          ) from None
    entries = data.get("tokens") if isinstance(data, Mapping) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"token file {path}: expected a non-empty \"tokens\" list of "
                          "{\"name\", \"token\", \"namespaces\"} entries")
    grants: list[TokenGrant] = []
    for number, entry in enumerate(entries, 1):
        grants.append(_grant(entry, f"token file {path}, entry {number}"))
    names = [grant.name for grant in grants]
    if len(set(names)) != len(names):
        raise ConfigError(f"token file {path}: token names must be unique, got {names}")
    if len({grant.digest for grant in grants}) != len(grants):
        raise ConfigError(f"token file {path}: the same token is listed twice")
    return grants


def _grant(entry: Any, where: str) -> TokenGrant:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected an object with name, token and namespaces")
    name, token, namespaces = entry.get("name"), entry.get("token"), entry.get("namespaces")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: \"name\" must be a non-empty string")
    if not isinstance(token, str) or len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(f"{where} ({name}): \"token\" must be a string of at least "
                          f"{MIN_TOKEN_CHARS} characters (for example `python -c \"import "
                          "secrets; print(secrets.token_urlsafe(32))\"`)")
    if not isinstance(namespaces, list) or not namespaces \
            or not all(isinstance(item, str) and item for item in namespaces):
        raise ConfigError(f"{where} ({name}): \"namespaces\" must be a non-empty list of "
                          f"server names or source labels, or [\"{ALL_NAMESPACES}\"]")
    return TokenGrant(name, frozenset(namespaces), _digest(token))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class StaticTokenVerifier:
    """The MCP SDK's `TokenVerifier` for a fixed list of tokens.

    Args:
        grants: from `load_tokens`.
        resource: this server's MCP endpoint URL (the audience every token is issued for).
    """

    def __init__(self, grants: list[TokenGrant], *, resource: str) -> None:
        self._grants = list(grants)
        self._resource = resource

    async def verify_token(self, token: str) -> AccessToken | None:
        """The grant for *token*, or None. Every grant is compared (in constant time), so the
        time taken does not tell which one, or how much of one, matched."""
        digest = _digest(token)
        found: TokenGrant | None = None
        for grant in self._grants:
            if hmac.compare_digest(digest, grant.digest):
                found = grant
        if found is None:
            return None
        # The SDK keeps the presented token in AccessToken.token; toolnav never logs it.
        return AccessToken(token=token, client_id=found.name,
                           scopes=sorted(found.namespaces), resource=self._resource)

    def __repr__(self) -> str:
        return f"StaticTokenVerifier({[grant.name for grant in self._grants]})"


def _access_token(ctx: Any) -> AccessToken | None:
    request = getattr(ctx, "request", None)
    scope = getattr(request, "scope", None)
    user = scope.get("user") if isinstance(scope, Mapping) else None
    return user.access_token if isinstance(user, AuthenticatedUser) else None


def namespaces_in_scope(ctx: Any) -> frozenset[str] | None:
    """The namespaces the caller of this request may reach; None means all (stdio, HTTP
    without tokens, or a token granted ``"*"``)."""
    return _namespaces(_access_token(ctx))


def namespaces_of_current_request() -> frozenset[str] | None:
    """`namespaces_in_scope` for code the SDK calls without a request context (its
    ``Mcp-Param`` header check): the token the SDK's auth middleware stored for the HTTP
    request being served."""
    return _namespaces(get_access_token())


def _namespaces(token: AccessToken | None) -> frozenset[str] | None:
    if token is None or ALL_NAMESPACES in token.scopes:
        return None
    return frozenset(token.scopes)


def caller_name(ctx: Any) -> str:
    """The token's name for logs ("" when the request carries no token)."""
    token = _access_token(ctx)
    return token.client_id if token else ""
