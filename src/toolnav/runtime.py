"""The runtime: one object, built from `Settings`, that wires toolnav's parts for a process.

`Toolnav` owns the catalog (store), the embedding cache, the embedder (loaded on first use), the
index maintainer, the current router and the executor. The CLI builds one per command, the MCP
server one per process; nothing else wires these parts by hand. `configure_process` is the one
place that sets process-wide state (numba's threading layer, thread counts, offline model
loading, logging); entry points call it once, before heavy imports.

Example:
    with Toolnav.open(Settings(home=Path(".toolnav"))) as toolnav:
        toolnav.catalog.add_source("tools.json"); print(toolnav.router().route("weather", k=3))
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from toolnav.catalog import Catalog, EmbeddingCache
from toolnav.config import RouteParams, Settings
from toolnav.progress import Progress, no_progress

# The model, the indexes and the MCP SDK load on first use: `toolnav tools` or `add` of a JSON
# file never pays for them.
if TYPE_CHECKING:
    from toolnav.downstream.mcp import ToolsChangedHook
    from toolnav.embed import Embedder
    from toolnav.execute import Executor
    from toolnav.indexing import IndexMaintainer, IndexReport
    from toolnav.route import Router

__all__ = ["Toolnav", "configure_process"]

EMBEDDING_CACHE_FILE = "embeddings.db"
DOWNSTREAM_LOG = "downstream.log"
_configured = threading.Event()


def configure_process(settings: Settings | None = None) -> None:
    """Set process-wide state once, at an entry point (later calls do nothing).

    - numba's parallel kernels run on its workqueue threading layer (its OpenMP layer starves
      torch's OpenMP pool: bulk embedding ran 40-170x slower after an NSG build);
    - torch and BLAS use ``settings.threads`` threads;
    - model files load offline (no model hub is ever contacted);
    - warnings of third-party libraries go to stderr as plain log lines, at WARNING.

    An explicit environment variable (``NUMBA_THREADING_LAYER``, ``OMP_NUM_THREADS``) wins.
    """
    if _configured.is_set():
        return
    _configured.set()
    threads = str((settings or Settings()).threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_NUM_THREADS", threads)
    if "NUMBA_THREADING_LAYER" not in os.environ:
        os.environ["NUMBA_THREADING_LAYER"] = "workqueue"
        if "numba" in sys.modules:  # imported before us: its config was read already
            sys.modules["numba"].config.THREADING_LAYER = "workqueue"
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))
    if "numpy" in sys.modules:  # BLAS read OMP_NUM_THREADS when numpy loaded: too late
        from threadpoolctl import threadpool_limits

        threadpool_limits(int(os.environ["OMP_NUM_THREADS"]), user_api="blas")
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)  # libraries that set their own loggers to DEBUG stay quiet
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])


class Toolnav:
    """Catalog, embedder, indexes, router and executor of one home (see the module docstring).

    Args:
        settings: where the home is and how to route, embed and execute.
        embedder: an embedder to use instead of the home's model (tests, evaluation).
        embedding_cache: another embeddings.db to share (default: the one in the home).

    Raises:
        CatalogError: the home or its database is not usable.
    """

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None,
                 embedding_cache: Path | None = None):
        self.settings = settings
        self.catalog = Catalog.open(settings.home)
        self._cache = EmbeddingCache(embedding_cache or settings.home / EMBEDDING_CACHE_FILE)
        self._embedder = embedder
        self._maintainer: IndexMaintainer | None = None
        self._routers: dict[RouteParams, tuple[Router, int]] = {}
        self._lock = threading.RLock()

    @classmethod
    def open(cls, settings: Settings | str | Path, *, embedder: Embedder | None = None,
             embedding_cache: Path | None = None) -> Toolnav:
        """The runtime of a home (a `Settings`, or just the home directory), with the process
        configured for it (`configure_process`)."""
        if not isinstance(settings, Settings):
            settings = Settings(home=Path(settings))
        configure_process(settings)
        return cls(settings, embedder=embedder, embedding_cache=embedding_cache)

    @property
    def embedder(self) -> Embedder:
        """The embedder (loaded on first use): the model `toolnav tune` left in the home, else
        the bundled one, with the request encoder the settings name."""
        from toolnav.embed import load_default_embedder

        with self._lock:
            if self._embedder is None:
                self._embedder = load_default_embedder(
                    self.settings.home, request_encoder=self.settings.request_encoder,
                    threads=self.settings.threads, cache_dir=self.settings.cache_dir)
            return self._embedder

    @property
    def maintainer(self) -> IndexMaintainer:
        """Keeps the home's dense and BM25 indexes in step with the catalog."""
        from toolnav.indexing import IndexMaintainer

        with self._lock:
            if self._maintainer is None:
                self._maintainer = IndexMaintainer(self.catalog.store, self._cache,
                                                   self.embedder, self.settings.home)
            return self._maintainer

    def index(self, progress: Progress = no_progress, *, force: bool = False) -> IndexReport:
        """Embed new or changed tools and bring the saved indexes up to date.

        Raises:
            EmptyCatalog: there are no tools.
        """
        with self._lock:
            return self.maintainer.update(progress, force=force)

    def router(self, params: RouteParams | None = None, progress: Progress = no_progress
               ) -> Router:
        """The router over the catalog as it is now: rebuilt when the catalog's version moved
        since it was built (indexes are brought up to date first), re-weighed when call
        outcomes were recorded.

        Raises:
            EmptyCatalog: there are no tools.
        """
        from toolnav.route import Router

        params = params or self.settings.route
        store = self.catalog.store
        with self._lock:
            router, feedback_seen = self._routers.get(params, (None, -1))
            feedback_version = store.feedback_version
            if router is None or router.version != store.version:
                snapshot = self.maintainer.snapshot(progress, exact=params.exact_search)
                router = Router(snapshot, self.embedder, params)
            elif feedback_seen != feedback_version:  # only outcomes changed: re-weigh
                router = router.with_feedback(store.feedback())
            self._routers[params] = (router, feedback_version)
            return router

    def executor(self, *, timeout_seconds: float | None = None,
                 on_tools_changed: ToolsChangedHook | None = None) -> Executor:
        """A new executor for this home: downstream MCP servers are looked up in the catalog
        (their secrets never leave the store) and their stderr goes to ``logs/downstream.log``
        in the home, not to the terminal. Enter it with ``async with`` (sync code:
        `toolnav._blocking.BlockingRunner.wrap`). *timeout_seconds* defaults to
        `toolnav.execute.DEFAULT_TIMEOUT_SECONDS`."""
        from toolnav.execute import DEFAULT_TIMEOUT_SECONDS, Executor

        return Executor(self.catalog.server_config,
                        timeout_seconds=timeout_seconds or DEFAULT_TIMEOUT_SECONDS,
                        stderr_log=self.settings.home / "logs" / DOWNSTREAM_LOG,
                        on_tools_changed=on_tools_changed)

    def close(self) -> None:
        """Release the databases and connections."""
        self.catalog.close()
        self._cache.close()

    def __enter__(self) -> Toolnav:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
