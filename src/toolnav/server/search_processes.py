"""Searches in child processes, beside the server's event loop instead of under its GIL.

A search is a few milliseconds of Python and numpy; run on a worker thread it still holds the
GIL most of that time, so one process serves at most what one core gives to the event loop and
the searches together. `SearchProcesses` starts child processes (``python -m
toolnav.server.search_processes``), each holding its own runtime of the same home: its router
reads the same catalog store, so a change the server makes (a downstream's new tool list)
reaches a child's next search through the store's version, as it reaches a worker thread's.

Parent and child speak over the child's stdin and stdout: length-prefixed pickles, requests
answered in order, several in flight per child so a child never waits for the busy event
loop between two searches. This is the parent's whole cost per search: one write, one read on
the event loop, no helper threads (`concurrent.futures`' process pool spends about a
millisecond of GIL per search in its feeder and manager threads, as much as the event loop's
own work for a search). The child keeps its real stdout for the replies and points file
descriptor 1 at stderr, so a library that prints cannot corrupt them.

A child that dies (killed, out of memory) fails the searches it held with `SearchUnavailable`
(the caller searches in-process instead) and is started again, with a growing pause if it
keeps dying. A child exits when its stdin closes, so no path of the server, `kill -9`
included, leaves it behind; it ignores SIGINT (a Ctrl-C reaches the whole process group) and
is stopped by the parent.

Example:
    async with SearchProcesses(toolnav.settings, params, processes=1) as searchers:
        candidates = await searchers.search("convert 3 euros to dollars", 5, ToolFilter())
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
from collections import deque
from typing import IO, Any

import anyio
import anyio.abc
from anyio.streams.buffered import BufferedByteReceiveStream

from toolnav.config import LLMSettings, RouteParams, Settings
from toolnav.errors import ToolnavError
from toolnav.route import Candidate, ToolFilter

__all__ = ["SearchProcesses", "SearchUnavailable"]

logger = logging.getLogger("toolnav.server")

_LENGTH = struct.Struct("!I")
_START_SECONDS = 600.0  # a child loads the encoder and the index (seconds; minutes if it indexes)
_RESTART_PAUSES = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class SearchUnavailable(ToolnavError):
    """No search process can answer now (one died, or a new one is still loading)."""


class _Reply:
    """A search waiting for its child's answer."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.outcome: tuple[bool, Any] = (False, SearchUnavailable("no answer"))


@dataclasses.dataclass
class _Child:
    process: anyio.abc.Process
    replies: BufferedByteReceiveStream
    waiting: deque[_Reply] = dataclasses.field(default_factory=deque)  # in request order
    sending: anyio.Lock = dataclasses.field(default_factory=anyio.Lock)


class SearchProcesses:
    """*processes* child processes answering searches over the home of *settings* with
    *params*; an async context manager that starts them (returning once each has loaded the
    index) and stops them.

    Args:
        settings: the server's settings (the children open the same home; the LLM settings,
            which may hold a key, are not passed on).
        params: ranking parameters.
        processes: how many children (at least 1).

    Raises:
        ValueError: *processes* below 1.
        ToolnavError: (on entering) a child could not open the home; its own message is on
            stderr.
    """

    def __init__(self, settings: Settings, params: RouteParams, processes: int = 1) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1, got {processes}")
        self._setup = pickle.dumps((dataclasses.replace(settings, llm=LLMSettings()), params))
        self._children: list[_Child | None] = [None] * processes
        self._group: anyio.abc.TaskGroup | None = None
        self.restarts = 0  # children started again after one died

    async def __aenter__(self) -> SearchProcesses:
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        failures: list[ToolnavError] = []
        try:
            with anyio.fail_after(_START_SECONDS):
                async with anyio.create_task_group() as starting:  # side by side
                    for slot in range(len(self._children)):
                        starting.start_soon(self._start_slot, slot, failures)
            if failures:  # the child's own error, not wrapped in an exception group
                raise failures[0]
        except BaseException:
            await self.aclose()
            raise
        for slot in range(len(self._children)):
            self._group.start_soon(self._serve_replies, slot)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def pids(self) -> list[int]:
        """The process ids of the children answering now."""
        return [child.process.pid for child in self._children if child is not None]

    @property
    def processes(self) -> int:
        """How many children there are meant to be."""
        return len(self._children)

    async def search(self, query: str, k: int, filters: ToolFilter) -> list[Candidate]:
        """The router's candidates for *query*, computed in the least busy child.

        Raises:
            SearchUnavailable: no child can answer now (search in-process instead).
            ToolnavError: what the router raised (an empty catalog, a bad parameter).
        """
        live = [child for child in self._children if child is not None]
        if not live:
            raise SearchUnavailable("no search process is running")
        child = min(live, key=lambda candidate: len(candidate.waiting))
        reply = _Reply()
        try:
            async with child.sending:  # replies come in request order: keep the two in step
                child.waiting.append(reply)
                await _send(child.process, (query, k, filters))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            with contextlib.suppress(ValueError):  # unless its reader failed it already
                child.waiting.remove(reply)
            raise SearchUnavailable("the search process is gone") from None
        await reply.done.wait()
        succeeded, value = reply.outcome
        if not succeeded:
            raise value
        return value

    async def aclose(self) -> None:
        """Stop the children (searches still waiting get `SearchUnavailable`)."""
        group, self._group = self._group, None
        if group is not None:
            group.cancel_scope.cancel()
            await group.__aexit__(None, None, None)
        children, self._children = self._children, [None] * len(self._children)
        for child in children:
            if child is not None:
                await _stop(child)
                _fail_waiting(child, "the search processes were stopped")

    async def _start_slot(self, slot: int, failures: list[ToolnavError]) -> None:
        try:
            self._children[slot] = await self._start_child()
        except ToolnavError as error:
            failures.append(error)

    async def _start_child(self) -> _Child:
        """A child with the home open and warm (its first reply says so).

        Raises:
            ToolnavError: whatever kept it from starting (so the restart loop, which catches
                only that, never takes the server's task group down with it).
        """
        try:
            process = await anyio.open_process(
                [sys.executable, "-m", "toolnav.server.search_processes"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None)
        except OSError as error:
            raise ToolnavError(f"a search process could not be started: {error}") from None
        assert process.stdin is not None and process.stdout is not None
        child = _Child(process, BufferedByteReceiveStream(process.stdout))
        try:
            await process.stdin.send(_LENGTH.pack(len(self._setup)) + self._setup)
            succeeded, value = await _receive(child.replies)
        except Exception as error:  # its end of stream, or a garbled first reply
            await _stop(child)
            raise ToolnavError(f"a search process exited with {process.returncode} while "
                               f"opening the home ({type(error).__name__}; its message is "
                               "above)") from None
        except BaseException:
            await _stop(child)
            raise
        if not succeeded:
            await _stop(child)
            raise value
        return child

    async def _serve_replies(self, slot: int) -> None:
        """Hand each answer of the child in *slot* to its search; start the child again when
        it dies."""
        failed_starts = 0  # in a row: the pause before the next try grows with them
        while True:
            child = self._children[slot]
            if child is None:
                try:
                    child = await self._start_child()
                except ToolnavError as error:
                    pause = _RESTART_PAUSES[min(failed_starts, len(_RESTART_PAUSES) - 1)]
                    failed_starts += 1
                    logger.warning("search process did not start; next try in %.1f s: %s",
                                   pause, error, extra={"event": "search_process_failed"})
                    await anyio.sleep(pause)
                    continue
                failed_starts = 0
                self._children[slot] = child
                self.restarts += 1
            try:
                while True:
                    outcome = await _receive(child.replies)
                    if child.waiting:
                        reply = child.waiting.popleft()
                        reply.outcome = outcome
                        reply.done.set()
            except Exception as error:  # its end of stream, or a garbled reply: replace it
                failure = error
            self._children[slot] = None
            await _stop(child)
            logger.warning("a search process stopped answering (exit code %s, %s); starting "
                           "a new one", child.process.returncode, type(failure).__name__,
                           extra={"event": "search_process_died"})
            _fail_waiting(child, "the search process died")


def _fail_waiting(child: _Child, reason: str) -> None:
    while child.waiting:
        reply = child.waiting.popleft()
        reply.outcome = (False, SearchUnavailable(reason))
        reply.done.set()


async def _send(process: anyio.abc.Process, message: Any) -> None:
    assert process.stdin is not None
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    await process.stdin.send(_LENGTH.pack(len(data)) + data)


async def _receive(replies: BufferedByteReceiveStream) -> tuple[bool, Any]:
    (length,) = _LENGTH.unpack(await replies.receive_exactly(_LENGTH.size))
    return pickle.loads(await replies.receive_exactly(length))


async def _stop(child: _Child) -> None:
    """Close the child's stdin (it exits on its own), kill it if it does not, reap it."""
    process = child.process
    with anyio.CancelScope(shield=True):
        if process.returncode is None and process.stdin is not None:
            with contextlib.suppress(OSError, anyio.BrokenResourceError):
                await process.stdin.aclose()
            with anyio.move_on_after(5):
                await process.wait()
        if process.returncode is None:
            process.kill()
        with contextlib.suppress(OSError, anyio.BrokenResourceError):
            await process.aclose()


# The child's side.


def _read(stream: IO[bytes]) -> Any:
    """The next message on *stream*; None at its end."""
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(header)
    data = stream.read(length)
    return None if len(data) < length else pickle.loads(data)


def _write(stream: IO[bytes], message: Any) -> None:
    try:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):  # an error that cannot travel
        data = pickle.dumps((False, ToolnavError(str(message[1]))))
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _child_main() -> int:
    """Open the home the parent names, then answer searches until stdin closes."""
    from toolnav.runtime import Toolnav
    from toolnav.server.run import configure_server_process

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests, replies = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints go to stderr, not into the replies
    setup = _read(requests)
    if setup is None:
        return 0
    settings, params = setup
    try:
        runtime = Toolnav.open(settings)
        configure_server_process(logging.WARNING)
        runtime.router(params).warm_up()
    except ToolnavError as error:
        _write(replies, (False, error))
        return 2
    except Exception as error:  # a bug: the parent gets one line, the log the traceback
        configure_server_process(logging.WARNING)
        logger.error("a search process could not open the home", exc_info=True,
                     extra={"event": "search_process_failed"})
        _write(replies, (False, ToolnavError(f"a search process could not open the home: "
                                             f"{type(error).__name__}: {error}")))
        return 2
    _write(replies, (True, None))
    while (request := _read(requests)) is not None:
        query, k, filters = request
        try:
            found = runtime.router(params).route(query, k=k, filters=filters).candidates
            _write(replies, (True, found))
        except Exception as error:  # the parent answers the caller with it, as if in-process
            if not isinstance(error, ToolnavError):
                logger.exception("search failed in a search process")
            _write(replies, (False, error))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main())
