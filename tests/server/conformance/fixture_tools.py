"""Tools the MCP conformance suite calls by name, served through the gateway like any Python
tool (scripts/conformance.sh adds this module to the catalog).

Example:
    toolnav add tests/server/conformance/fixture_tools.py
"""

from __future__ import annotations

__all__ = ["test_error_handling", "test_simple_text"]


def test_simple_text() -> str:
    """Return a fixed text (conformance scenario tools-call-simple-text)."""
    return "This is a simple text response for testing."


def test_error_handling() -> str:
    """Always fail (conformance scenario tools-call-error)."""
    raise RuntimeError("This tool intentionally returns an error for testing")
