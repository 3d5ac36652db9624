"""Tools the MCP conformance suite calls by name, served through the gateway like any Python
tool (scripts/conformance.sh adds this module to the catalog).

``__toolnav_tags__`` marks the tools the gateway runs as durable tasks for clients that declare
the MCP Tasks extension (``task:optional``: as a task if the client can take one;
``task:required``: only as a task). The tools that ask their client for input are in
input_tools.py. The suite's
``protocol_error_job`` is in schema_tools.json: a listed tool with no executable binding, so its
task fails at the server (a protocol error).

Example:
    toolnav add tests/server/conformance/fixture_tools.py
"""

from __future__ import annotations

import anyio

__all__ = ["failing_job", "greet", "slow_compute", "test_error_handling", "test_simple_text"]


def test_simple_text() -> str:
    """Return a fixed text (conformance scenario tools-call-simple-text)."""
    return "This is a simple text response for testing."


def test_error_handling() -> str:
    """Always fail (conformance scenario tools-call-error)."""
    raise RuntimeError("This tool intentionally returns an error for testing")


def greet(name: str) -> str:
    """Greet someone (a plain synchronous tool of the tasks scenarios).

    Args:
        name: who to greet.
    """
    return f"Hello, {name}!"


async def slow_compute(seconds: float = 1.0, label: str = "") -> str:
    """Wait, then report (a tool that may run as a task).

    Args:
        seconds: how long to work.
        label: echoed in the result.
    """
    await anyio.sleep(seconds)
    return f"computed {label or 'result'} after {seconds:g} s"


slow_compute.__toolnav_tags__ = ("task:optional",)


async def failing_job() -> str:
    """Work for a second, then fail with a tool error (a tool that runs only as a task)."""
    await anyio.sleep(1)
    raise RuntimeError("failing_job failed on purpose")


failing_job.__toolnav_tags__ = ("task:required",)

