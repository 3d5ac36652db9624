"""Agent test fixtures: the example catalog behind a runtime, and an entered executor."""

from __future__ import annotations

import pytest

from tests.sources.services import EXAMPLES
from toolnav.execute import Executor
from toolnav.runtime import Toolnav


@pytest.fixture
async def executor(toolnav):
    async with Executor(toolnav.catalog.server_config) as opened:
        yield opened


@pytest.fixture
def toolnav(tmp_path, hashing_embedder):
    with Toolnav.open(tmp_path / "home", embedder=hashing_embedder) as opened:
        opened.catalog.add_source(EXAMPLES / "python_tools.py")
        opened.index()
        yield opened
