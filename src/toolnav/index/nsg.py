"""NSG graph index: build, beam search and live updates over unit float32 embeddings.

Follows Fu et al. (VLDB 2019): an exact kNN graph, a navigating node near the centroid, edges
chosen by MRNG among the nodes a search from the navigating node visits, reverse edges with
re-pruning, and a repair pass so every node is reachable. A search starts from the nearest of
a few hundred entry pivots (the nodes nearest to k-means centres), which plays the part of
HNSW's upper layers, walks the graph on int8 codes of the vectors and re-ranks its pool with
the float32 vectors (1.4x the QPS at the same recall on 100k real embeddings). Inserts
search, select and link like the build; deletes are tombstones (traversed, never returned)
until they pass a share of the index, when affected nodes are reconnected through their
deleted neighbours' neighbours and the arrays compacted. Kernels live in
`toolnav.index._nsg_kernels`; this module validates input, owns the arrays and persists them.

Example:
    index = NSGIndex(dim=384, params=NSGParams(degree=32)); index.add(ids, vectors)
    ids, scores = index.search(query, k=10)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from toolnav.config import NSGParams
from toolnav.errors import IndexFormatError, VectorIndexError
from toolnav.index import _nsg_kernels as kernels
from toolnav.index._checks import as_ids, as_queries, as_vectors, check_k
from toolnav.index._int8 import fit_scale, quantize
from toolnav.index._persist import read_index_dir, write_index_dir
from toolnav.index.flat import exact_search

__all__ = ["NSGIndex", "inner_products_at"]

KIND = "nsg"
UNIT_TOLERANCE = 1e-3
SEED = 20190701  # builds are deterministic
# Each query starts from the nearest of this many entry pivots, the nodes nearest to k-means
# centres of the live vectors, so every dense region has one. At 100k real embeddings this lifts
# single-thread QPS at recall 0.95 by ~20% over the fixed navigating node; on the 100-cluster
# synthetic set, randomly sampled pivots missed 13 clusters and capped recall@10 at 0.97,
# k-means pivots reach 1.000 (bench/ann.py, docs/benchmarks.md).
ENTRY_PIVOTS = 256
# Inserts keep the entry pivots until the live count has grown by this share since they were
# chosen: choosing runs k-means over every live vector (~0.2 s at 100k), and new nodes are
# reachable through the graph meanwhile.
PIVOT_REFRESH_GROWTH = 0.1
# Batches smaller than this many queries per thread search on the calling thread alone (a
# router's few query texts): starting a thread pool per call costs more than it saves.
QUERIES_PER_THREAD = 16
# Rows per block when matching pivots to centres (bounds the temporary score matrix).
PIVOT_BLOCK = 16384


def inner_products_at(queries: np.ndarray, vectors: np.ndarray, rows: np.ndarray
                      ) -> np.ndarray:
    """`toolnav.index.flat.inner_products_at` by a compiled kernel that reads the rows of
    *vectors* (float32, C order) in place: no copy of the rows, no BLAS call per query
    (0.23 vs 0.94 ms for 3 queries and 1,500 rows of 384 here)."""
    out = np.empty((len(queries), len(rows)), dtype=np.float32)
    return kernels.inner_products_at(np.ascontiguousarray(queries, dtype=np.float32),
                                     vectors, np.asarray(rows, dtype=np.int64), out)


class NSGIndex:
    """Navigating Spreading-out Graph over unit vectors; scores are inner products.

    The first `add` on an empty index builds the graph from all its vectors; later calls
    insert incrementally.

    Args:
        dim: vector dimension.
        params: build and search parameters.
    """

    def __init__(self, dim: int, params: NSGParams | None = None):
        if dim < 1:
            raise VectorIndexError(f"dim must be positive, got {dim}")
        self._dim = dim
        self.params = params or NSGParams()
        degree = self.params.degree
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self._scale = np.ones(dim, dtype=np.float32)  # int8 codes: see toolnav.index._int8
        self._codes = np.zeros((0, dim), dtype=np.int8)
        self._graph = np.zeros((0, degree), dtype=np.int32)
        self._dists = np.zeros((0, degree), dtype=np.float32)
        self._degrees = np.zeros(0, dtype=np.int32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=np.bool_)
        self._slot: dict[int, int] = {}
        self._entry = 0
        self._pivots = np.zeros(0, dtype=np.int32)
        self._pivot_vectors = np.zeros((0, dim), dtype=np.float32)
        self._pivot_basis = 0  # live count when the pivots were chosen

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return self._dim

    def __len__(self) -> int:
        return len(self._slot)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert unit vectors under new ids (builds the graph if the index is empty).

        Raises:
            VectorIndexError: shape, dtype, NaN/inf, non-unit rows, duplicate or present ids.
        """
        ids = as_ids(ids)
        vectors = as_vectors(vectors, self._dim, len(ids))
        norms = np.linalg.norm(vectors, axis=1)
        if len(norms) and np.abs(norms - 1).max() > UNIT_TOLERANCE:
            row = int(np.abs(norms - 1).argmax())
            raise VectorIndexError(f"vector #{row} has norm {norms[row]:.4f}; NSG needs unit "
                                   "vectors (divide each row by its L2 norm)")
        present = [int(i) for i in ids if int(i) in self._slot]
        if present:
            raise VectorIndexError(f"id {present[0]} is already in the index; remove it first "
                                   "to replace its vector")
        if not len(ids):
            return
        with kernels.PARALLEL_LOCK:  # building and inserting run parallel kernels
            if len(self._ids) == 0:
                self._build(ids, vectors)
            else:
                self._insert(ids, vectors)

    def remove(self, ids: Iterable[int]) -> None:
        """Delete ids (tombstones; consolidated once they pass `params.consolidate_at`)."""
        ids = as_ids(ids)
        missing = [int(i) for i in ids if int(i) not in self._slot]
        if missing:
            raise VectorIndexError(f"id {missing[0]} is not in the index")
        self._make_writable()
        for external in ids:
            self._alive[self._slot.pop(int(external))] = False
        dead = len(self._ids) - len(self._slot)
        if dead > self.params.consolidate_at * len(self._ids):
            with kernels.PARALLEL_LOCK:
                self._consolidate()

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               pool: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-k by inner product, best first.

        Args:
            queries: (dim,) or (n, dim) unit vectors.
            k: results per query (at most the number of live, allowed vectors).
            allowed: only these ids may be returned; they are searched exactly (a restricted
                set, such as one namespace, is usually far smaller than the graph, and a beam
                search that skips most nodes loses its way).
            pool: search pool size L (default `params.search_pool`, raised to k); larger is
                slower and more accurate.
        """
        matrix, single = as_queries(queries, self._dim)
        if allowed is not None:
            wanted = np.unique(as_ids(allowed))
            check_k(k, len(wanted))
            ids, scores = exact_search(wanted, self.vectors(wanted), matrix, k)
            return (ids[0], scores[0]) if single else (ids, scores)
        check_k(k, len(self))
        pool_size = max(pool or self.params.search_pool, k)
        while True:
            ids, scores, complete = self._search_pool(matrix, k, pool_size)
            if complete or pool_size >= len(self._ids):
                break
            pool_size = min(2 * pool_size, len(self._ids))  # tombstones crowded the pool
        return (ids[0], scores[0]) if single else (ids, scores)

    def ids(self) -> np.ndarray:
        """The live ids, in slot order."""
        return np.asarray(self._ids[self._alive], dtype=np.int64)

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of live *ids*, in that order."""
        try:
            slots = [self._slot[int(i)] for i in as_ids(ids)]
        except KeyError as error:
            raise VectorIndexError(f"id {error.args[0]} is not in the index") from None
        return np.asarray(self._vectors[slots], dtype=np.float32).reshape(len(slots), self._dim)

    def save(self, path: Path) -> None:
        """Write a versioned directory atomically."""
        params = self.params.__dict__
        write_index_dir(path, KIND, {"dim": self._dim, "entry": self._entry, "params": params},
                        {"vectors": self._vectors, "graph": self._graph, "dists": self._dists,
                         "degrees": self._degrees, "ids": self._ids, "alive": self._alive,
                         "pivots": self._pivots, "scale": self._scale, "codes": self._codes})

    @classmethod
    def load(cls, path: Path) -> NSGIndex:
        """Read a directory written by `save`; arrays are memory-mapped until modified."""
        header, arrays = read_index_dir(path, KIND)
        try:
            index = cls(int(header["dim"]), NSGParams(**header["params"]))
            count = len(arrays["ids"])
            pivots = np.asarray(arrays.get("pivots", np.zeros(0, dtype=np.int32)))
            scale, codes = arrays.get("scale"), arrays.get("codes")
            shapes_agree = (arrays["vectors"].shape == (count, index.dim)
                            and bool(np.all((pivots >= 0) & (pivots < count)))
                            and (scale is None or scale.shape == (index.dim,))
                            and (codes is None or codes.shape == arrays["vectors"].shape)
                            and arrays["graph"].shape == (count, index.params.degree)
                            and arrays["dists"].shape == arrays["graph"].shape
                            and len(arrays["degrees"]) == len(arrays["alive"]) == count)
            entry = int(header["entry"])
        except (KeyError, TypeError, ValueError) as error:
            raise IndexFormatError(f"{path}: malformed NSG header ({error})") from None
        if not shapes_agree or not 0 <= entry < max(count, 1):
            raise IndexFormatError(f"{path}: NSG arrays disagree in shape; rebuild the index")
        for name in ("vectors", "graph", "dists", "degrees", "ids", "alive"):
            setattr(index, f"_{name}", np.asarray(arrays[name]))
        index._entry = entry
        if scale is None or codes is None:  # written before codes were saved
            index._scale = fit_scale(index._vectors) if scale is None else np.array(scale)
            index._codes = quantize(index._vectors, index._scale)
        else:
            index._scale, index._codes = np.array(scale), np.asarray(codes)
        index._slot = {int(i): slot for slot, i in enumerate(index._ids) if index._alive[slot]}
        index._set_pivots(pivots if len(pivots) else index._choose_pivots())
        return index

    def reachable_from_entry(self) -> bool:
        """Whether a walk from the navigating node reaches every live node."""
        reached = np.zeros(len(self._ids), dtype=np.bool_)
        stack = [self._entry] if len(self._ids) else []
        while stack:
            node = stack.pop()
            if reached[node]:
                continue
            reached[node] = True
            stack.extend(int(n) for n in self._graph[node, :self._degrees[node]])
        return bool(reached[self._alive].all())

    def _search_pool(self, matrix: np.ndarray, k: int, pool_size: int
                     ) -> tuple[np.ndarray, np.ndarray, bool]:
        out_ids = np.empty((len(matrix), pool_size), dtype=np.int32)
        out_dist = np.empty((len(matrix), pool_size), dtype=np.float32)
        threads = min(self.params.threads, len(matrix) // QUERIES_PER_THREAD)
        arrays = (self._graph, self._degrees, self._vectors, self._codes, self._scale, matrix,
                  self._pivots, self._pivot_vectors, pool_size)
        if threads > 1:
            with kernels.PARALLEL_LOCK:
                kernels.batch_search(*arrays, threads, out_ids, out_dist)
        else:
            kernels.search_range(*arrays, 0, len(matrix), out_ids, out_dist)
        valid = out_ids >= 0
        live = valid & self._alive[np.where(valid, out_ids, 0)]
        if live.all():
            return self._ids[out_ids[:, :k]], 1.0 - out_dist[:, :k], True
        ids = np.full((len(matrix), k), -1, dtype=np.int64)
        scores = np.full((len(matrix), k), -np.inf, dtype=np.float32)
        complete = True
        for row in range(len(matrix)):
            slots = out_ids[row][live[row]][:k]
            complete &= len(slots) == k
            ids[row, :len(slots)] = self._ids[slots]
            scores[row, :len(slots)] = 1.0 - out_dist[row][live[row]][:len(slots)]
        return ids, scores, complete

    def _build(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        params, count = self.params, len(ids)
        self._vectors = vectors
        self._scale = fit_scale(vectors)
        self._codes = quantize(vectors, self._scale)
        self._ids = ids
        self._alive = np.ones(count, dtype=np.bool_)
        self._slot = {int(i): slot for slot, i in enumerate(ids)}
        self._graph = np.zeros((count, params.degree), dtype=np.int32)
        self._dists = np.zeros((count, params.degree), dtype=np.float32)
        self._degrees = np.zeros(count, dtype=np.int32)
        self._entry = self._nearest_to_centroid()
        self._set_pivots(self._choose_pivots())
        if count == 1:
            return
        knn = min(params.knn, count - 1)
        if count <= params.exact_knn_limit:
            knn_ids, _ = kernels.exact_knn(vectors, knn)
        else:  # exact kNN is quadratic: past the limit, exact search inside k-means cells
            knn_ids, _ = kernels.clustered_knn(vectors, knn, seed=SEED)
        kernels.link_nodes(knn_ids, vectors, self._codes, self._scale, self._entry,
                           self._build_seeds(), params.build_pool, params.max_candidates,
                           params.degree, params.threads, self._graph, self._degrees,
                           self._dists)
        kernels.add_reverse_edges(vectors, self._graph, self._degrees, self._dists,
                                  np.arange(count, dtype=np.int32))
        self._repair()

    def _insert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._make_writable()
        start, count = len(self._ids), len(ids)
        degree = self.params.degree
        self._vectors = np.concatenate([self._vectors, vectors])
        self._codes = np.concatenate([self._codes, quantize(vectors, self._scale)])
        self._ids = np.concatenate([self._ids, ids])
        self._alive = np.concatenate([self._alive, np.ones(count, dtype=np.bool_)])
        self._graph = np.concatenate([self._graph, np.zeros((count, degree), dtype=np.int32)])
        self._dists = np.concatenate([self._dists, np.zeros((count, degree), np.float32)])
        self._degrees = np.concatenate([self._degrees, np.zeros(count, dtype=np.int32)])
        self._slot.update({int(i): start + j for j, i in enumerate(ids)})
        kernels.insert_nodes(self._graph, self._degrees, self._dists, self._vectors,
                             np.arange(start, start + count, dtype=np.int32), self._entry,
                             self._build_seeds(), self.params.build_pool,
                             self.params.max_candidates)
        self._repair()
        if (len(self) > (1 + PIVOT_REFRESH_GROWTH) * self._pivot_basis
                or self._pivot_basis <= ENTRY_PIVOTS):  # small: every live node is a pivot
            self._set_pivots(self._choose_pivots())

    def _consolidate(self) -> None:
        """Reconnect around deleted nodes, drop them from the arrays, re-check reachability."""
        kernels.reconnect_around_deleted(self._graph, self._degrees, self._dists,
                                         self._vectors, self._alive, self.params.threads)
        keep = np.flatnonzero(self._alive)
        new_slot = np.full(len(self._ids), -1, dtype=np.int32)
        new_slot[keep] = np.arange(len(keep), dtype=np.int32)
        graph = new_slot[self._graph[keep]]
        dists = self._dists[keep]
        degrees = self._degrees[keep].copy()
        for row in range(len(keep)):  # drop edges to removed nodes that remain
            edges = graph[row, :degrees[row]]
            if (edges < 0).any():
                mask = edges >= 0
                kept = int(mask.sum())
                graph[row, :kept] = edges[mask]
                dists[row, :kept] = dists[row, :degrees[row]][mask]
                degrees[row] = kept
        self._graph, self._dists, self._degrees = graph, np.ascontiguousarray(dists), degrees
        self._vectors = np.ascontiguousarray(self._vectors[keep])
        self._codes = np.ascontiguousarray(self._codes[keep])
        self._ids = self._ids[keep]
        self._alive = np.ones(len(keep), dtype=np.bool_)
        self._slot = {int(i): slot for slot, i in enumerate(self._ids)}
        self._set_pivots(self._choose_pivots())
        if len(keep):
            self._entry = self._nearest_to_centroid()
            self._repair()

    def _build_seeds(self) -> np.ndarray:
        """Spread-out start points for build searches: a fixed random sample of live nodes."""
        live = np.flatnonzero(self._alive).astype(np.int32)
        count = min(self.params.build_pool, len(live))
        return np.random.default_rng(SEED).choice(live, size=count, replace=False)

    def _set_pivots(self, pivots: np.ndarray) -> None:
        """Keep the pivots and a contiguous copy of their vectors (scanned for every query)."""
        self._pivots = np.ascontiguousarray(pivots, dtype=np.int32)
        self._pivot_vectors = np.ascontiguousarray(self._vectors[self._pivots])
        self._pivot_basis = len(self._slot)

    def _choose_pivots(self) -> np.ndarray:
        """Entry pivots: the live node nearest to each k-means centre of the live vectors."""
        live = np.flatnonzero(self._alive).astype(np.int32)
        if len(live) <= ENTRY_PIVOTS:
            return live
        vectors = self._vectors[live]
        centres = kernels.spherical_kmeans(vectors, ENTRY_PIVOTS, np.random.default_rng(SEED))
        best = np.full(len(centres), -np.inf, dtype=np.float32)
        nearest = np.zeros(len(centres), dtype=np.int32)
        for start in range(0, len(live), PIVOT_BLOCK):
            scores = vectors[start:start + PIVOT_BLOCK] @ centres.T
            rows = np.argmax(scores, axis=0)
            better = scores[rows, np.arange(len(centres))] > best
            best[better] = scores[rows[better], np.flatnonzero(better)]
            nearest[better] = live[start + rows[better]]
        return np.unique(nearest)

    def _repair(self) -> None:
        kernels.repair_connectivity(self._graph, self._degrees, self._dists, self._vectors,
                                    self._alive, self._entry, self.params.build_pool)

    def _nearest_to_centroid(self) -> int:
        live = np.flatnonzero(self._alive)
        centroid = self._vectors[live].mean(axis=0)
        return int(live[np.argmax(self._vectors[live] @ centroid)])

    def _make_writable(self) -> None:
        """Copy memory-mapped arrays before the first change."""
        for name in ("_vectors", "_graph", "_dists", "_degrees", "_ids", "_alive"):
            array = getattr(self, name)
            if not array.flags.writeable:
                setattr(self, name, np.array(array))
