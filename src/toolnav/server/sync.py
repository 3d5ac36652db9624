"""Keeps the catalog in step with the downstream servers while the gateway runs.

A downstream's ``tools/list_changed`` notification (`CatalogSync.notify_changed`, called by
the downstream pool's hook) and a periodic timer both queue a re-listing of that server; one
worker re-lists queued servers through the backend, which stores what changed and updates the
index in place. Notifications that arrive during a re-listing queue one more, so the last
change is never missed. Listing and storing are the backend's job.

Example:
    sync = CatalogSync(backend, interval_seconds=60, metrics=gateway.metrics)
    async with anyio.create_task_group() as group: group.start_soon(sync.run)
"""

from __future__ import annotations

import logging

import anyio
import anyio.to_thread

from toolnav.errors import ConfigError, ToolnavError
from toolnav.server.backend import GatewayBackend
from toolnav.server.metrics import GatewayMetrics

__all__ = ["DEFAULT_SYNC_INTERVAL_SECONDS", "CatalogSync"]

DEFAULT_SYNC_INTERVAL_SECONDS = 60.0

logger = logging.getLogger("toolnav.server.sync")


class CatalogSync:
    """Re-lists downstream servers on notification and every *interval_seconds*.

    Args:
        backend: lists servers and updates the catalog and index.
        interval_seconds: period of the content-hash refresh of every server (None: only on
            notifications).
        metrics: counts re-listings per result.

    Raises:
        ConfigError: a non-positive interval.
    """

    def __init__(self, backend: GatewayBackend, *,
                 interval_seconds: float | None = DEFAULT_SYNC_INTERVAL_SECONDS,
                 metrics: GatewayMetrics | None = None) -> None:
        if interval_seconds is not None and interval_seconds <= 0:
            raise ConfigError(f"sync interval must be positive, got {interval_seconds}")
        self._backend = backend
        self._interval = interval_seconds
        self._metrics = metrics
        self._pending: set[str] = set()
        self._wake = anyio.Event()

    def notify_changed(self, server: str) -> None:
        """Queue a re-listing of *server* (call from the event loop the sync runs on)."""
        self._pending.add(server)
        self._wake.set()

    async def run(self) -> None:
        """Serve re-listings until cancelled."""
        async with anyio.create_task_group() as group:
            if self._interval is not None:
                group.start_soon(self._tick)
            while True:
                await self._wake.wait()
                self._wake = anyio.Event()
                servers, self._pending = sorted(self._pending), set()
                for server in servers:
                    await self.refresh(server)

    async def refresh(self, server: str) -> bool | None:
        """Re-list one server now; returns whether it changed (None: listing failed)."""
        try:
            changed = await self._backend.refresh_server(server)
        except ToolnavError as error:
            logger.warning("sync failed", extra={"event": "sync", "downstream": server,
                                                 "result": "failed", "detail": str(error)})
            self._count(server, "failed")
            return None
        result = "changed" if changed else "unchanged"
        logger.log(logging.INFO if changed else logging.DEBUG, "sync",
                   extra={"event": "sync", "downstream": server, "result": result})
        self._count(server, result)
        return changed

    async def _tick(self) -> None:
        assert self._interval is not None
        while True:
            await anyio.sleep(self._interval)
            # In a worker thread: counting a large catalog's tools must not stall requests.
            for state in await anyio.to_thread.run_sync(self._backend.states):
                self._pending.add(state.name)
            self._wake.set()

    def _count(self, server: str, result: str) -> None:
        if self._metrics is not None:
            self._metrics.syncs.labels(downstream=server, result=result).inc()
