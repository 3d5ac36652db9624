"""Keeps the dense and BM25 indexes in step with the catalog store.

`IndexMaintainer.update` embeds the tools whose text is not cached yet (the embedding cache is
keyed by model and text), then updates the saved vector index in place when a small share of
the catalog changed, or rebuilds it; a manifest records which store version and model the saved
index reflects. `IndexMaintainer.snapshot` hands the router a consistent `IndexedCatalog`: the
tools of one store version with their vectors, vector index and BM25 index. A snapshot reads no
tool record unless the BM25 index must be rebuilt: the tools' ids, names and groups and the BM25
index are saved for the store's fingerprint, and tools are read by id when first wanted. The
catalog itself never embeds or indexes; ranking is `toolnav.route`'s job.

Example:
    maintainer = IndexMaintainer(store, EmbeddingCache(home / "embeddings.db"), embedder, home)
    report = maintainer.update()                 # embeds only tools whose text changed
    indexed = maintainer.snapshot()              # what a Router is built on
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from toolnav._atomic import replaced_file
from toolnav.catalog import (
    CatalogEntry,
    CatalogStore,
    EmbeddingCache,
    RoutingRows,
    embedding_key,
)
from toolnav.catalog.records import LazyTools
from toolnav.config import NSGParams
from toolnav.embed import Embedder
from toolnav.errors import EmptyCatalog, IndexFormatError, ToolNotFound, VectorIndexError
from toolnav.index import (
    FlatIndex,
    VectorIndex,
    create_index,
    default_index_kind,
    load_exact,
    load_index,
)
from toolnav.lexical import LexicalIndex
from toolnav.progress import Progress, no_progress
from toolnav.tool import LEXICAL_TEXT_VERSION, Tool, embedding_text, lexical_text

__all__ = ["EMBED_BATCH_SIZE", "UPDATE_IN_PLACE_LIMIT", "IndexMaintainer", "IndexReport",
           "IndexedCatalog", "tool_vectors"]

EMBED_BATCH_SIZE = 64
# A change to at most this share of the indexed tools is applied to the saved index (removals
# and inserts) instead of rebuilding it; past it a fresh build keeps the NSG graph at its best.
UPDATE_IN_PLACE_LIMIT = 0.2
_MANIFEST = "manifest.json"
_ROWS = "routing_rows.json"  # ids, names and groups of the tools, for one store fingerprint
_EMBEDDING_STAGE = "embedding tools"


@dataclass(frozen=True)
class IndexReport:
    """What `IndexMaintainer.update` did."""

    tools: int
    embedded: int
    cached: int
    rebuilt: bool
    seconds: float
    updated_in_place: bool = False  # the saved index took the change; no fresh build


@dataclass(frozen=True)
class IndexedCatalog:
    """The catalog at one store version, ready to route: every array is aligned with `tools`.

    Attributes:
        version: the store version these tools come from.
        tools: the tools, in id order (read from the store and built on first access:
            `LazyTools`).
        ids: their catalog ids (also their vector-index ids).
        vectors: their float32 unit embeddings (rows aligned with `tools`).
        index: the vector index over `ids`.
        lexical: the BM25 index over the tools' `lexical_text`, aligned with `ids`.
        feedback: tool name -> (success rate, outcomes) when the snapshot was taken.
        names: the tools' names (aligned with `tools`, without building them).
        groups: the tools' groups, ``""`` for none (likewise).
    """

    version: int
    tools: Sequence[Tool]
    ids: np.ndarray
    vectors: np.ndarray
    index: VectorIndex
    lexical: LexicalIndex
    feedback: dict[str, tuple[float, int]]
    names: list[str]
    groups: list[str]


def tool_vectors(tools: Sequence[Tool], embedder: Embedder, cache: EmbeddingCache,
                 progress: Progress = no_progress) -> tuple[np.ndarray, int]:
    """Every tool's float32 embedding by *embedder* (from *cache*, or computed and cached now)
    and how many were computed.

    Args:
        tools: the tools, embedded as their `embedding_text`.
        embedder: the model (its `model_id` is part of each cache key).
        cache: where vectors are looked up and stored.
        progress: called as ``progress("embedding tools", done, total)``.
    """
    model_id = embedder.model_id
    texts = [embedding_text(tool) for tool in tools]
    keys = [embedding_key(model_id, text) for text in texts]
    found = cache.get_many(keys)
    missing = sorted({key: i for i, key in enumerate(keys) if key not in found}.items())
    if missing:
        progress(_EMBEDDING_STAGE, 0, len(missing))
    for start in range(0, len(missing), EMBED_BATCH_SIZE):
        batch = missing[start:start + EMBED_BATCH_SIZE]
        vectors = embedder.embed([texts[i] for _, i in batch])
        cache.put_many([key for key, _ in batch], vectors)
        found.update({key: vectors[j] for j, (key, _) in enumerate(batch)})
        progress(_EMBEDDING_STAGE, min(start + EMBED_BATCH_SIZE, len(missing)), len(missing))
    return np.stack([found[key] for key in keys]).astype(np.float32), len(missing)


class IndexMaintainer:
    """Embeds and indexes a store's tools under one directory (``index/`` and ``lexical/``).

    Args:
        store: the catalog store whose tools are indexed.
        cache: embeddings by (model, text); may be shared between homes.
        embedder: the model tools (and requests) are embedded with.
        directory: the home directory the indexes are saved under.
        nsg_params: build parameters of the NSG graph (large catalogs).
    """

    def __init__(self, store: CatalogStore, cache: EmbeddingCache, embedder: Embedder,
                 directory: Path, nsg_params: NSGParams | None = None):
        self.store = store
        self.cache = cache
        self.embedder = embedder
        self._index_dir = Path(directory) / "index"
        self._vectors_dir = self._index_dir / "vectors"
        self._rows_file = self._index_dir / _ROWS
        self._lexical_dir = Path(directory) / "lexical"
        self._nsg_params = nsg_params
        self._loaded: tuple[dict[str, Any], VectorIndex] | None = None

    def update(self, progress: Progress = no_progress, *, force: bool = False) -> IndexReport:
        """Embed tools whose text is not cached yet and bring the saved vector index up to date.

        Args:
            progress: called as ``progress("embedding tools", done, total)``.
            force: rebuild the index even if the catalog has not changed.

        Raises:
            EmptyCatalog: there are no tools.
        """
        started = time.perf_counter()
        version = self.store.version
        entries = self.store.entries()
        if not entries:
            raise EmptyCatalog("the catalog is empty; add tools with `toolnav add SOURCE`")
        vectors, embedded = tool_vectors([entry.tool for entry in entries], self.embedder,
                                         self.cache, progress)
        manifest = self._manifest(version, len(entries))
        previous = self._read_manifest()
        rebuilt = force or previous != manifest
        in_place = False
        if rebuilt:
            in_place = self._write_index(entries, vectors, manifest,
                                         previous=None if force else previous)
        return IndexReport(len(entries), embedded, len(entries) - embedded, rebuilt,
                           time.perf_counter() - started, in_place)

    def is_current(self) -> bool:
        """Whether the saved index reflects the store's current version and model."""
        previous = self._read_manifest()
        return previous is not None and previous == self._manifest(self.store.version,
                                                                   previous.get("tools", -1))

    def snapshot(self, progress: Progress = no_progress, *, exact: bool = False
                 ) -> IndexedCatalog:
        """The indexed catalog at the store's current version (updating the index first if it
        is stale).

        Args:
            progress: called while tools are embedded, if the index was stale.
            exact: the snapshot's index is a flat (exact) one over its vectors, read from the
                saved index without loading the NSG graph or its numba kernels: for a
                process that answers one request (`RouteParams.exact_search`).

        Raises:
            EmptyCatalog: there are no tools.
        """
        if not self.is_current():
            self.update(progress)
        manifest = self._read_manifest()
        if manifest is None:  # removed under us by another writer: build again
            self.update(progress, force=True)
            manifest = self._read_manifest()
        index = load_exact(self._vectors_dir) if exact else self._load_index(manifest)
        rows = self._routing_rows()
        ids = np.array(rows.ids, dtype=np.int64)
        try:
            vectors = index.vectors(ids)
        except VectorIndexError:  # the store moved on since the manifest: index again
            self.update(progress)
            return self.snapshot(progress, exact=exact)
        if exact:  # exactly the snapshot's tools
            index = FlatIndex.over(ids, vectors, index.dim, self._vectors_dir)
        tools = LazyTools(rows.ids, rows.names, self.store.records)
        try:
            lexical = self._lexical(rows.fingerprint, ids, tools)
        except ToolNotFound:  # removed since the rows were read: take a new snapshot
            return self.snapshot(progress, exact=exact)
        return IndexedCatalog(int(manifest["catalog_version"]), tools, ids, vectors, index,
                              lexical, self.store.feedback(), rows.names, rows.groups)

    def _routing_rows(self) -> RoutingRows:
        """The store's routing rows, from the copy saved for its current fingerprint when there
        is one (reading them from the store parses every record for its group: ~0.3 s at 50k
        tools), else from the store, then saved."""
        fingerprint = self.store.fingerprint
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            saved = json.loads(self._rows_file.read_text())
            rows = RoutingRows(saved["fingerprint"], saved["ids"], saved["names"],
                               saved["groups"])
            if rows.fingerprint == fingerprint and len(rows.ids) == len(rows.names) == len(
                    rows.groups):
                return rows
        rows = self.store.routing_rows()
        with contextlib.suppress(OSError), replaced_file(self._rows_file) as staging:
            staging.write_text(json.dumps(dataclasses.asdict(rows)))  # ASCII: any name
        return rows

    def _lexical(self, fingerprint: str, ids: np.ndarray, tools: LazyTools) -> LexicalIndex:
        """The BM25 index of *tools*: the saved one, or built (reading every record) and saved.

        Raises:
            ToolNotFound: a tool left the store since its id was read.
        """
        # Keyed on the store's fingerprint of its tools and the version of lexical_text: a new
        # catalog or a new lexical_text both rebuild; records are read and texts made only then.
        key = hashlib.sha256(f"{LEXICAL_TEXT_VERSION}\0{fingerprint}".encode()).hexdigest()
        return LexicalIndex.open(self._lexical_dir, key, ids,
                                 lambda: [lexical_text(tool) for tool in tools])

    def _manifest(self, version: int, tools: int) -> dict[str, Any]:
        return {"catalog_version": version, "model_id": self.embedder.model_id,
                "kind": default_index_kind(tools), "tools": tools}

    def _read_manifest(self) -> dict[str, Any] | None:
        try:
            manifest = json.loads((self._index_dir / _MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        return manifest if isinstance(manifest, dict) else None

    def _load_index(self, manifest: dict[str, Any]) -> VectorIndex:
        if self._loaded is None or self._loaded[0] != manifest:
            self._loaded = (manifest, load_index(self._vectors_dir))
        return self._loaded[1]

    def _write_index(self, entries: list[CatalogEntry], vectors: np.ndarray,
                     manifest: dict[str, Any], previous: dict[str, Any] | None) -> bool:
        """Save the index for *vectors*; returns whether the saved one was updated in place."""
        ids = np.array([entry.id for entry in entries], dtype=np.int64)
        index = self._updated_index(ids, vectors, manifest, previous)
        in_place = index is not None
        if index is None:
            kind = manifest["kind"]
            index = create_index(kind, vectors.shape[1],
                                 self._nsg_params if kind == "nsg" else None)
            index.add(ids, vectors)
        self._index_dir.mkdir(parents=True, exist_ok=True)
        (self._index_dir / _MANIFEST).unlink(missing_ok=True)  # stale until fully written
        index.save(self._vectors_dir)
        with replaced_file(self._index_dir / _MANIFEST) as staging:
            staging.write_text(json.dumps(manifest))
        self._loaded = (manifest, index)
        return in_place

    def _updated_index(self, ids: np.ndarray, vectors: np.ndarray, manifest: dict[str, Any],
                       previous: dict[str, Any] | None) -> VectorIndex | None:
        """The saved index with removed and changed tools taken out and new ones inserted, or
        None when a fresh build is due (no usable saved index, another model or kind, or a
        change to more than `UPDATE_IN_PLACE_LIMIT` of it)."""
        if previous is None or any(previous.get(key) != manifest[key]
                                   for key in ("model_id", "kind")):
            return None
        try:
            index = load_index(self._vectors_dir)
            old = index.ids()
            present = np.isin(ids, old)
            kept = present.copy()  # then: only those whose vector is unchanged
            if present.any():
                kept[present] = (index.vectors(ids[present]) == vectors[present]).all(axis=1)
            gone = np.setdiff1d(old, ids[kept])
            if len(gone) + int((~kept).sum()) > UPDATE_IN_PLACE_LIMIT * len(old):
                return None
            if len(gone):
                index.remove(gone)
            if not kept.all():
                index.add(ids[~kept], vectors[~kept])
            return index
        except (OSError, ValueError, IndexFormatError, VectorIndexError):
            return None  # anything amiss with the saved files: build afresh
