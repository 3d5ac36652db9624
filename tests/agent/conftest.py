"""Agent test fixtures: the example catalog and an executor with the async contract."""

from __future__ import annotations

import inspect

import anyio
import pytest

from tests.sources.services import EXAMPLES
from toolnav.catalog import Catalog
from toolnav.execute import Executor


class AsyncExecutor:
    """`toolnav.execute.Executor` behind ``await execute(...)``, whichever form it has."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    async def execute(self, tool, arguments):
        if inspect.iscoroutinefunction(self.executor.execute):
            return await self.executor.execute(tool, arguments)
        return await anyio.to_thread.run_sync(self.executor.execute, tool, arguments)


@pytest.fixture
def executor():
    with Executor() as opened:
        yield AsyncExecutor(opened)


@pytest.fixture
def catalog(tmp_path, hashing_embedder):
    with Catalog.open(tmp_path / "home", embedder=hashing_embedder) as opened:
        opened.add_source(EXAMPLES / "python_tools.py")
        opened.build_index()
        yield opened
