"""The Catalog: tools from many sources in one home directory, embedded and indexed.

`Catalog` ties the SQLite store, the embedding cache, the embedder and the vector index
together. Sources are parsed by `toolnav.catalog.sources`; ranking is left to `toolnav.route`.

Example:
    catalog = Catalog.open(".toolnav"); catalog.add_source("tools.json")
    report = catalog.build_index()            # embeds only tools whose text changed
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from toolnav.catalog.embedding_cache import EmbeddingCache, embedding_key
from toolnav.catalog.sources import load_source
from toolnav.catalog.store import CatalogEntry, SourceChange, SQLiteCatalogStore
from toolnav.embed import Embedder
from toolnav.errors import (
    CatalogError,
    EmptyCatalog,
    IndexFormatError,
    ToolNotFound,
    VectorIndexError,
)
from toolnav.index import VectorIndex
from toolnav.tool import Tool, embedding_text

__all__ = ["Catalog", "IndexReport"]

EMBED_BATCH_SIZE = 64
DEFAULT_FEEDBACK_ALPHA = 0.2
_MANIFEST = "manifest.json"
# A change to at most this share of the indexed tools is applied to the saved index (removals
# and inserts) instead of rebuilding it; past it a fresh build keeps the NSG graph at its best.
UPDATE_IN_PLACE_LIMIT = 0.2

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class IndexReport:
    """What `Catalog.build_index` did."""

    tools: int
    embedded: int
    cached: int
    rebuilt: bool
    seconds: float
    updated_in_place: bool = False  # the saved index took the change; no fresh build


class Catalog:
    """Tools, their embeddings and the vector index, kept under one home directory."""

    def __init__(self, home: Path, store: SQLiteCatalogStore, cache: EmbeddingCache,
                 embedder: Embedder | None = None):
        self.home = home
        self._store = store
        self._cache = cache
        self._embedder = embedder
        self._index: VectorIndex | None = None
        self._vectors: tuple[int, np.ndarray, dict[int, int]] | None = None

    @classmethod
    def open(cls, home: str | Path, *, embedder: Embedder | None = None,
             embedding_cache: str | Path | None = None) -> Catalog:
        """Open (creating if needed) the catalog under *home*.

        Args:
            home: state directory; holds catalog.db, embeddings.db and index/.
            embedder: the embedding model; if omitted, the tuned model in *home*/model or the
                bundled MiniLM is loaded lazily.
            embedding_cache: another embeddings.db to share (default: the one in *home*).

        Raises:
            CatalogError: the directory or database is not usable.
        """
        home = Path(home)
        try:
            home.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CatalogError(f"cannot create toolnav home {home}: {error.strerror}") from None
        cache_path = Path(embedding_cache) if embedding_cache else home / "embeddings.db"
        return cls(home, SQLiteCatalogStore(home / "catalog.db"), EmbeddingCache(cache_path),
                   embedder)

    def close(self) -> None:
        """Release the database connections."""
        self._store.close()
        self._cache.close()

    @property
    def embedder(self) -> Embedder:
        """The embedder used for the index and for queries (loaded on first use): the model
        `toolnav tune` left in the home, else the bundled one."""
        if self._embedder is None:
            from toolnav.embed import load_default_embedder

            self._embedder = load_default_embedder(self.home)
        return self._embedder

    @property
    def version(self) -> str:
        """Changes whenever the set of tools changes."""
        return str(self._store.version)

    def __len__(self) -> int:
        return self._store.count()

    def add_source(self, spec: str | Path, *, name: str | None = None,
                   base_url: str | None = None) -> SourceChange:
        """Parse a source and make the catalog hold exactly its tools under its label.

        *base_url* sets where an OpenAPI document's API is served.

        Raises:
            SourceError, SchemaError: the source is unreadable or invalid; nothing changes.
        """
        source = load_source(spec, name=name, base_url=base_url)
        if source.servers:  # first: a server name clash must refuse before tools change
            self._store.put_servers(source.name, source.servers)
        return self.add_tools(source.tools, source=source.name)

    def server_config(self, name: str) -> dict[str, Any] | None:
        """The config of downstream MCP server *name* (for `toolnav.execute.Executor`)."""
        return self._store.server_config(name)

    def add_tools(self, tools: Iterable[Tool], *, source: str) -> SourceChange:
        """Replace the tools filed under *source* with *tools* (added, updated or removed)."""
        if not source:
            raise CatalogError("a source label is required (for example the file name)")
        return self._store.replace_source(source, tools)

    def remove(self, names: Iterable[str]) -> int:
        """Remove tools by name; returns how many were removed."""
        return self._store.remove(names)

    def get(self, name: str) -> Tool:
        """The tool with that name.

        Raises:
            ToolNotFound: no such tool; the message suggests close names.
        """
        entry = self._store.get(name)
        if entry is None:
            raise ToolNotFound(_not_found_message(name, [e.tool.name for e in self.entries()]))
        return entry.tool

    def tools(self) -> list[Tool]:
        """Every tool, in insertion order."""
        return [entry.tool for entry in self._store.entries()]

    def entries(self) -> list[CatalogEntry]:
        """Every tool with its stable id and original (pre-namespace) name."""
        return self._store.entries()

    def sources(self) -> dict[str, int]:
        """Tool count per source label."""
        return self._store.sources()

    def build_index(self, progress: ProgressCallback | None = None, *, force: bool = False
                    ) -> IndexReport:
        """Embed tools whose text is not cached yet and (re)build the vector index.

        Args:
            progress: called as ``progress(done, total)`` after each embedding batch.
            force: rebuild the index even if the catalog has not changed.

        Raises:
            EmptyCatalog: there are no tools.
        """
        started = time.perf_counter()
        entries = self.entries()
        if not entries:
            raise EmptyCatalog("the catalog is empty; add tools with `toolnav add SOURCE`")
        model_id = self.embedder.model_id
        keys = [embedding_key(model_id, embedding_text(entry.tool)) for entry in entries]
        found = self._cache.get_many(keys)
        missing = sorted({key: i for i, key in enumerate(keys) if key not in found}.items())
        if progress:
            progress(0, len(missing))
        for start in range(0, len(missing), EMBED_BATCH_SIZE):
            batch = missing[start:start + EMBED_BATCH_SIZE]
            vectors = self.embedder.embed([embedding_text(entries[i].tool) for _, i in batch])
            self._cache.put_many([key for key, _ in batch], vectors)
            found.update({key: vectors[j] for j, (key, _) in enumerate(batch)})
            if progress:
                progress(min(start + EMBED_BATCH_SIZE, len(missing)), len(missing))
        manifest = self._current_manifest(len(entries))
        previous = self._read_manifest()
        rebuilt = force or previous != manifest
        in_place = False
        if rebuilt:
            in_place = self._write_index(entries, np.stack([found[key] for key in keys]),
                                         manifest, previous=None if force else previous)
        return IndexReport(len(entries), len(missing), len(entries) - len(missing), rebuilt,
                           time.perf_counter() - started, in_place)

    def vector_index(self) -> VectorIndex:
        """The vector index over all tools (ids are entry ids), built first if stale."""
        if self._index is None or not self._index_is_current():
            if not self._index_is_current():
                self.build_index()
            from toolnav.index import load_index

            self._index = load_index(self._index_dir / "vectors")
        return self._index

    def embeddings(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The indexed float32 unit vectors of the given entry ids, in that order."""
        self.vector_index()
        if self._vectors is None or self._vectors[0] != self._store.version:
            matrix = np.load(self._index_dir / "embeddings.npy", mmap_mode="r")
            entry_ids = np.load(self._index_dir / "entry_ids.npy")
            row_of = {int(entry_id): row for row, entry_id in enumerate(entry_ids)}
            self._vectors = (self._store.version, matrix, row_of)
        _, matrix, row_of = self._vectors
        try:
            rows = [row_of[int(i)] for i in ids]
        except KeyError as error:
            raise ToolNotFound(f"no indexed tool has id {error.args[0]}") from None
        return np.asarray(matrix[rows], dtype=np.float32)

    def feedback_scores(self) -> dict[str, tuple[float, int]]:
        """Tool name -> (weighted success rate in [0, 1], number of recorded outcomes)."""
        return self._store.feedback()

    def record_outcome(self, name: str, success: bool, alpha: float = DEFAULT_FEEDBACK_ALPHA
                       ) -> tuple[float, int]:
        """Record one call outcome of a tool; returns its new (success rate, outcomes)."""
        self.get(name)
        return self._store.record_outcome(name, success, alpha)

    @property
    def _index_dir(self) -> Path:
        return self.home / "index"

    def _current_manifest(self, tools: int) -> dict[str, Any]:
        from toolnav.index import default_index_kind

        return {"catalog_version": self.version, "model_id": self.embedder.model_id,
                "kind": default_index_kind(tools), "tools": tools}

    def _index_is_current(self) -> bool:
        return self._read_manifest() == self._current_manifest(len(self))

    def _read_manifest(self) -> dict[str, Any] | None:
        try:
            return json.loads((self._index_dir / _MANIFEST).read_text())
        except (OSError, ValueError):
            return None

    def _write_index(self, entries: list[CatalogEntry], vectors: np.ndarray,
                     manifest: dict[str, Any], previous: dict[str, Any] | None) -> bool:
        """Save the index for *vectors*; returns whether the saved one was updated in place."""
        from toolnav.index import create_index

        ids = np.array([entry.id for entry in entries], dtype=np.int64)
        index = self._updated_index(ids, vectors, manifest, previous)
        in_place = index is not None
        if index is None:
            index = create_index(manifest["kind"], vectors.shape[1])
            index.add(ids, vectors)
        self._index_dir.mkdir(parents=True, exist_ok=True)
        (self._index_dir / _MANIFEST).unlink(missing_ok=True)  # stale until fully written
        index.save(self._index_dir / "vectors")
        _atomic_save_npy(self._index_dir / "embeddings.npy", vectors.astype(np.float32))
        _atomic_save_npy(self._index_dir / "entry_ids.npy", ids)
        _atomic_write(self._index_dir / _MANIFEST, json.dumps(manifest))
        self._index, self._vectors = index, None
        return in_place

    def _updated_index(self, ids: np.ndarray, vectors: np.ndarray, manifest: dict[str, Any],
                       previous: dict[str, Any] | None) -> VectorIndex | None:
        """The saved index with removed and changed tools taken out and new ones inserted, or
        None when a fresh build is due (no usable saved index, another model or kind, or a
        change to more than `UPDATE_IN_PLACE_LIMIT` of it)."""
        from toolnav.index import load_index

        if previous is None or any(previous.get(key) != manifest[key]
                                   for key in ("model_id", "kind")):
            return None
        try:
            old_ids = np.load(self._index_dir / "entry_ids.npy")
            old_vectors = np.load(self._index_dir / "embeddings.npy", mmap_mode="r")
            old_row = {int(entry_id): row for row, entry_id in enumerate(old_ids)}
            rows = np.array([old_row.get(int(i), -1) for i in ids], dtype=np.int64)
            kept = rows >= 0  # then: only those whose vector is unchanged
            kept[kept] = (old_vectors[rows[kept]] == vectors[kept]).all(axis=1)
            gone = np.setdiff1d(old_ids, ids[kept])
            if len(gone) + int((~kept).sum()) > UPDATE_IN_PLACE_LIMIT * len(old_ids):
                return None
            index = load_index(self._index_dir / "vectors")
            if len(index) != len(old_ids):
                return None
            if len(gone):
                index.remove(gone)
            if not kept.all():
                index.add(ids[~kept], vectors[~kept])
            return index
        except (OSError, ValueError, IndexFormatError, VectorIndexError):
            return None  # anything amiss with the saved files: build afresh

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _not_found_message(name: str, known: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `toolnav search` finds tools"
    return f"no tool named {name!r} in the catalog{hint}"


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _atomic_save_npy(path: Path, array: np.ndarray) -> None:
    temporary = path.with_name(path.stem + ".tmp.npy")
    np.save(temporary, array)
    os.replace(temporary, path)
