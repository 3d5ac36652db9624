"""Input-required results (MRTR, SEP-2322) for plain tools/call requests.

A tool that asks its client for input (`toolnav.inputs.InputRequired`) makes the gateway answer
``{"resultType": "input_required", "inputRequests": ..., "requestState"?: ...}``; the client
answers and sends the same call again with ``inputResponses`` and the ``requestState``, which
`call_inputs` hands back to the tool. The state is sealed on the way out and checked on the way
in by the SDK's `RequestStateBoundary` (AES-GCM under a key held by this process, bound to the
method, tool, arguments and caller), so a tampered or foreign state answers -32602 before any
tool runs. Only 2026-07-28 clients can take an input-required result; an older client gets an
``isError`` result saying why. Tasks that ask for input are `toolnav.server.task_tools`'.

Example:
    server.middleware.append(state_boundary("toolnav"))
    result = await backend.call(name, arguments, **call_inputs(ctx, params))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mcp_types as types
from mcp.server import ServerRequestContext
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from toolnav.execute import ToolResult
from toolnav.inputs import CAPABILITY_OF
from toolnav.server.results import error_result, input_required_result

__all__ = ["STATE_TTL_SECONDS", "call_inputs", "client_capabilities", "mrtr_result",
           "state_boundary"]

# How long a client may take to answer before its requestState expires.
STATE_TTL_SECONDS = 3600.0
_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"


def state_boundary(audience: str) -> RequestStateBoundary:
    """The middleware that seals and checks ``requestState`` (a key made now: state minted
    before a restart, or by another replica, is refused and the client starts over)."""
    return RequestStateBoundary(RequestStateSecurity.ephemeral(ttl=STATE_TTL_SECONDS),
                                default_audience=audience)


def client_capabilities(ctx: ServerRequestContext) -> frozenset[str] | None:
    """The top-level capabilities the client declared (``elicitation``, ``sampling``,
    ``roots``, ...): in this request's ``_meta`` (2026-07-28) or on its connection; None if
    it declared none anywhere."""
    meta = ctx.meta if isinstance(ctx.meta, Mapping) else {}
    declared = meta.get(_CLIENT_CAPABILITIES)
    if isinstance(declared, Mapping):
        return frozenset(declared)
    capabilities = getattr(ctx.session, "client_capabilities", None)
    if capabilities is None:
        return None
    return frozenset(key for key, value in capabilities.model_dump(exclude_none=True).items()
                     if value is not None)


def call_inputs(ctx: ServerRequestContext, params: types.CallToolRequestParams
                ) -> dict[str, Any]:
    """The keyword arguments `GatewayBackend.call` takes from a (re-sent) tools/call: the
    answers, the (already verified) state and the client's capabilities."""
    responses = {key: response.model_dump(by_alias=True, mode="json", exclude_none=True)
                 for key, response in (params.input_responses or {}).items()}
    return {"responses": responses, "state": params.request_state,
            "capabilities": client_capabilities(ctx)}


def mrtr_result(ctx: ServerRequestContext, result: ToolResult
                ) -> dict[str, Any] | types.CallToolResult | None:
    """What to answer when the tool asked the client for input: the input-required result,
    keeping only requests the client declared it can answer (an ``isError`` result when none
    is left, or for a client of the 2025 protocol); None when the tool did not ask."""
    asked = input_required_result(result)
    if asked is None:
        return None
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
        return error_result(f"{result.content}; input-required results need the 2026-07-28 "
                            "protocol, this client speaks an earlier one", "input_required")
    capabilities = client_capabilities(ctx)
    if capabilities is not None:
        asked["inputRequests"] = {key: request for key, request in
                                  asked["inputRequests"].items()
                                  if CAPABILITY_OF[request["method"]] in capabilities}
        if not asked["inputRequests"]:
            return error_result(f"{result.content}; the client declared none of the "
                                "capabilities that answer these requests", "input_required")
    return asked
