"""The one blocking edge: synchronous callers (the CLI, scripts) run toolnav's async core here.

A `BlockingRunner` owns one event loop on a portal thread (anyio's blocking portal) for its whole
life, so long-lived async resources (downstream MCP sessions, HTTP pools) survive between calls
instead of being rebuilt by a fresh loop per call.

Example:
    with BlockingRunner() as runner, runner.wrap(Executor(store.server_config)) as executor:
        result = runner.call(executor.execute, tool, {"a": 1})
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

__all__ = ["BlockingRunner"]

T = TypeVar("T")


class BlockingRunner:
    """Runs coroutine functions to completion from synchronous code, on one shared loop."""

    def __init__(self) -> None:
        self._manager: AbstractContextManager[BlockingPortal] = start_blocking_portal()
        self._portal = self._manager.__enter__()

    def call(self, func: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await func(*args)`` on the runner's loop and return (or raise) its result."""
        return self._portal.call(func, *args)

    def wrap(self, manager: AbstractAsyncContextManager[T]) -> AbstractContextManager[T]:
        """A sync context manager that enters and exits *manager* in one task on the loop.

        Async resources that own a task group (the `toolnav.execute.Executor`) must be entered
        and exited by the same task; separate `call`s would run in different tasks.
        """
        return self._portal.wrap_async_context_manager(manager)

    def close(self) -> None:
        """Stop the loop; resources still bound to it must be closed first."""
        self._manager.__exit__(None, None, None)

    def __enter__(self) -> BlockingRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
