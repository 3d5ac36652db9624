"""HTTP (OpenAPI) calls: arguments placed in path, query, headers or body, on one shared client.

A binding from `toolnav.catalog.sources.openapi` says where each argument goes (``locations``)
and what to call (``method``, ``base_url``, ``path``). The response is read up to a byte limit
(an endless or huge body never fills memory), under one total deadline (httpx's own timeouts
are per read); an HTTP status >= 400 is an error with the status and the head of the body.

Example:
    async with httpx.AsyncClient() as client:
        data = await call_http(client, tool.binding, {"item_id": 3}, timeout=10, byte_limit=80_000)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import anyio
import httpx

from toolnav.errors import ToolExecutionError

__all__ = ["ERROR_BODY_CHARS", "call_http"]

ERROR_BODY_CHARS = 500


async def call_http(client: httpx.AsyncClient, binding: Mapping[str, Any],
                    arguments: Mapping[str, Any], *, timeout: float, byte_limit: int) -> Any:
    """Make the request a binding describes and return the decoded answer.

    Args:
        client: the shared client (connection pool).
        binding: ``method``, ``base_url``, ``path`` and ``locations`` (argument name ->
            ``path``, ``query``, ``header``, ``body`` or ``body_whole``; default ``body``).
        arguments: validated arguments.
        timeout: total seconds for the whole exchange.
        byte_limit: stop reading the body after this many bytes.

    Returns:
        Parsed JSON for a complete JSON response, else the text (possibly cut at the limit).

    Raises:
        ToolExecutionError: the deadline passed, the connection failed, or the status is
            >= 400 (the message holds the status and the head of the body).
    """
    method = str(binding["method"]).upper()
    url, query, headers, body = _place(binding, arguments)
    raw = bytearray()
    with anyio.move_on_after(timeout) as scope:
        try:
            async with client.stream(method, url, params=query, headers=headers, json=body,
                                     timeout=timeout) as response:
                async for chunk in response.aiter_bytes():
                    raw += chunk
                    if len(raw) >= byte_limit:
                        break
        except httpx.TimeoutException:
            scope.cancel()
        except httpx.HTTPError as error:
            raise ToolExecutionError(f"HTTP {method} {url} failed: {error}") from None
    if scope.cancel_called:
        raise ToolExecutionError(f"HTTP {method} {url} timed out after {timeout:g} s")
    text = bytes(raw).decode(response.encoding or "utf-8", errors="replace")
    if response.status_code >= 400:
        raise ToolExecutionError(f"HTTP {response.status_code} from {method} {url}: "
                                 f"{text[:ERROR_BODY_CHARS]}")
    if len(raw) < byte_limit and "json" in response.headers.get("content-type", ""):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text


def _place(binding: Mapping[str, Any], arguments: Mapping[str, Any]
           ) -> tuple[str, dict[str, Any], dict[str, str], Any]:
    """URL, query, headers and JSON body for the arguments, per the binding's locations."""
    locations: Mapping[str, str] = binding.get("locations", {})
    path = str(binding["path"])
    query: dict[str, Any] = {}
    headers: dict[str, str] = {}
    body: Any = None
    for name, value in arguments.items():
        where = locations.get(name, "body")
        if where == "path":
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
        elif where == "query":
            query[name] = json.dumps(value) if isinstance(value, dict | list) else value
        elif where == "header":
            headers[name] = str(value)
        elif where == "body_whole":
            body = value
        else:
            body = {**(body or {}), name: value}
    return str(binding["base_url"]).rstrip("/") + path, query, headers, body
