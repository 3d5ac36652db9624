"""Input checks shared by every index backend, each raising a precise `VectorIndexError`."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from toolnav.errors import VectorIndexError

__all__ = ["as_ids", "as_queries", "as_vectors", "check_k"]


def as_vectors(vectors: np.ndarray, dim: int | None, count: int) -> np.ndarray:
    """Contiguous float32 (count, dim) rows, finite; raises on any mismatch."""
    array = np.asarray(vectors)
    if array.ndim != 2:
        raise VectorIndexError(f"vectors must be a 2-D array (n, dim), got shape {array.shape}")
    if array.shape[0] != count:
        raise VectorIndexError(f"{count} ids but {array.shape[0]} vectors")
    if dim is not None and array.shape[1] != dim:
        raise VectorIndexError(f"vectors have dimension {array.shape[1]}, the index has {dim}")
    array = np.ascontiguousarray(array, dtype=np.float32)
    _check_finite(array, "vector")
    return array


def as_queries(queries: np.ndarray, dim: int) -> tuple[np.ndarray, bool]:
    """Contiguous float32 (n, dim) queries and whether the input was a single 1-D query."""
    array = np.asarray(queries)
    single = array.ndim == 1
    if single:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != dim:
        raise VectorIndexError(f"queries must have shape ({dim},) or (n, {dim}), "
                               f"got {np.asarray(queries).shape}")
    array = np.ascontiguousarray(array, dtype=np.float32)
    _check_finite(array, "query")
    return array, single


def as_ids(ids: np.ndarray | Iterable[int]) -> np.ndarray:
    """A 1-D int64 array of non-negative, distinct ids."""
    array = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise VectorIndexError(f"ids must be a 1-D array of integers, got {array.dtype} "
                               f"with shape {array.shape}")
    array = array.astype(np.int64)
    if array.size and array.min() < 0:
        raise VectorIndexError(f"ids must be non-negative, got {int(array.min())}")
    unique, counts = np.unique(array, return_counts=True)
    if (counts > 1).any():
        raise VectorIndexError(f"duplicate id {int(unique[counts > 1][0])} in one call")
    return array


def check_k(k: int, size: int) -> None:
    """k must be a positive integer no larger than the number of live vectors."""
    if size == 0:
        raise VectorIndexError("the index is empty; add vectors before searching")
    if not isinstance(k, int | np.integer) or k < 1:
        raise VectorIndexError(f"k must be a positive integer, got {k!r}")
    if k > size:
        raise VectorIndexError(f"k={k} exceeds the {size} vectors in the index; ask for at "
                               f"most {size}")


def _check_finite(array: np.ndarray, what: str) -> None:
    if not np.isfinite(array).all():
        row = int(np.argwhere(~np.isfinite(array))[0][0])
        raise VectorIndexError(f"{what} #{row} contains NaN or infinity")


def positions_of(stored: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Row of each *wanted* id in the array of *stored* ids; an absent id is an error."""
    wanted = as_ids(wanted)
    if not len(wanted):
        return np.zeros(0, dtype=np.int64)
    if not len(stored):
        raise VectorIndexError(f"id {int(wanted[0])} is not in the index")
    order = np.argsort(stored, kind="stable")
    rows = order[np.minimum(np.searchsorted(stored, wanted, sorter=order), len(stored) - 1)]
    absent = stored[rows] != wanted
    if absent.any():
        raise VectorIndexError(f"id {int(wanted[absent][0])} is not in the index")
    return rows
