"""Python callables: sync functions in a worker thread, coroutine functions on the loop.

The binding's ``target`` (``module:function``) is resolved by
`toolnav.catalog.sources.python.resolve_target`; names listed in ``positional`` are passed
positionally, in order. Both kinds get the same timeout, with one difference: a coroutine is
cancelled when it expires, but a thread cannot be killed, so a sync function that overruns keeps
running in its worker thread until it returns (its result is dropped; it occupies one of
anyio's worker threads meanwhile). Tools with side effects that may take long should be async.

Example:
    data = await call_python({"target": "operator:pow", "positional": ["a", "b"]},
                             {"a": 2, "b": 8}, timeout=5)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.to_thread

from toolnav.catalog.sources.python import resolve_target
from toolnav.errors import ToolExecutionError

__all__ = ["call_python"]


async def call_python(binding: Mapping[str, Any], arguments: Mapping[str, Any], *,
                      timeout: float) -> Any:
    """Call the binding's function with *arguments* and return what it returns.

    Raises:
        ToolExecutionError: the timeout expired (the message says whether the function may
            still be running).
        SourceError: the target cannot be imported.
        Exception: whatever the function raises (the executor reports it to the model).
    """
    func = resolve_target(binding["target"])
    keywords = dict(arguments)
    positional = [keywords.pop(name) for name in binding.get("positional", ())
                  if name in keywords]
    with anyio.move_on_after(timeout):
        if inspect.iscoroutinefunction(func):
            return await func(*positional, **keywords)
        # abandon_on_cancel: the caller gets its timeout; the thread finishes on its own.
        return await anyio.to_thread.run_sync(functools.partial(func, *positional, **keywords),
                                              abandon_on_cancel=True)
    if inspect.iscoroutinefunction(func):
        raise ToolExecutionError(f"timed out after {timeout:g} s (cancelled)")
    raise ToolExecutionError(f"timed out after {timeout:g} s (the function keeps running in "
                             "its worker thread until it returns; its result is dropped)")
