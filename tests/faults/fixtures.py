"""Pytest fixtures for downstream faults (registered in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from tests.faults import MODES, http_server, stdio_config


@pytest.fixture
def fault_configs() -> dict[str, dict]:
    """Server name -> stdio config, one server per fault mode (names are the modes)."""
    return {mode: stdio_config(mode) for mode in MODES}


@pytest.fixture
def fault_http_server() -> Iterator[Callable[[str], str]]:
    """Start a fault server over HTTP: ``url = fault_http_server("hang")``; stopped after."""
    with ExitStack() as stack:
        yield lambda mode: stack.enter_context(http_server(mode))
