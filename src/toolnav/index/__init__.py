"""Vector indexes behind one protocol: exact (flat) and the NSG graph index.

Example:
    index = create_index(default_index_kind(len(ids)), dim=384); index.add(ids, vectors)
    index.save(path); same = load_index(path)
    exact = load_exact(path)            # its vectors for exact search, without the graph
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolnav.config import NSGParams
from toolnav.errors import ConfigError, IndexFormatError
from toolnav.index._persist import read_header, read_index_dir
from toolnav.index.base import VectorIndex
from toolnav.index.flat import FlatIndex

__all__ = ["INDEX_KINDS", "NSG_MIN_VECTORS", "FlatIndex", "VectorIndex", "create_index",
           "default_index_kind", "load_exact", "load_index"]

INDEX_KINDS = ("flat", "nsg")
# From this many vectors on, the NSG graph answers a router's searches (k=100) faster than exact
# search; below it, exact search is as fast and needs no graph build (docs/benchmarks.md).
NSG_MIN_VECTORS = 10_000


def default_index_kind(count: int) -> str:
    """The index kind a catalog of *count* tools gets: exact ("flat") below `NSG_MIN_VECTORS`,
    the NSG graph from there on."""
    return "nsg" if count >= NSG_MIN_VECTORS else "flat"


def create_index(kind: str, dim: int, params: NSGParams | None = None) -> VectorIndex:
    """An empty index of the given kind.

    Args:
        kind: one of `INDEX_KINDS`.
        dim: vector dimension.
        params: NSG build/search parameters (defaults when None); refused for "flat".

    Returns:
        An empty index; the first `add` builds it (NSG builds its graph then).

    Raises:
        ConfigError: unknown kind, or params given for an index that takes none.
    """
    if kind == "flat":
        if params is not None:
            raise ConfigError("the flat index takes no params; pass params=None")
        return FlatIndex(dim)
    if kind == "nsg":
        from toolnav.index.nsg import NSGIndex  # numba loads only when NSG is used

        return NSGIndex(dim, params)
    raise ConfigError(f"unknown index kind {kind!r}; choose one of {', '.join(INDEX_KINDS)}")


def load_index(path: Path) -> VectorIndex:
    """Load an index directory of whatever kind its header names.

    Raises:
        IndexFormatError: the directory is missing, corrupted or of another version.
    """
    kind = read_header(path)["kind"]
    if kind == "flat":
        return FlatIndex.load(path)
    if kind == "nsg":
        from toolnav.index.nsg import NSGIndex

        return NSGIndex.load(path)
    raise ConfigError(f"{path} holds an index of unknown kind {kind!r}")


def load_exact(path: Path) -> FlatIndex:
    """The live vectors of the index saved at *path*, whatever its kind, as a flat index (exact
    search): what a process answering one request needs. The NSG graph is not read and its
    numba kernels are not imported (about 0.4 s); every kind saves ``ids`` and ``vectors``
    arrays, NSG also an ``alive`` mask for deleted (tombstoned) nodes.

    Raises:
        IndexFormatError: the directory is missing, corrupted or of another version.
        ConfigError: it holds an index of an unknown kind.
    """
    kind = read_header(path)["kind"]
    if kind not in INDEX_KINDS:
        raise ConfigError(f"{path} holds an index of unknown kind {kind!r}")
    header, arrays = read_index_dir(path, kind)
    try:
        ids, vectors, dim = arrays["ids"], arrays["vectors"], int(header["dim"])
    except (KeyError, TypeError, ValueError) as error:
        raise IndexFormatError(f"{path}: malformed {kind} index ({error}); rebuild with "
                               "`toolnav index --force`") from None
    alive = arrays.get("alive")
    if alive is not None:
        if alive.shape != ids.shape:
            raise IndexFormatError(f"{path}: alive and ids disagree in length; rebuild with "
                                   "`toolnav index --force`")
        if not alive.all():
            alive = np.asarray(alive, dtype=bool)
            ids, vectors = ids[alive], vectors[alive]
    return FlatIndex.over(ids, vectors, dim, path)
