"""numba kernels of the NSG index: kNN graph, beam search, MRNG selection, repair.

Module-level functions on contiguous arrays only: float32 unit vectors (n, d), an int32 graph
(n, R) with int32 degrees, and uint16 visited tags. Distance is 1 - <x, y>, which orders
pairs exactly like squared L2 on unit vectors. Searches walk the graph on int8 codes of the
vectors (a quarter of the memory traffic) and re-rank their pool with the float32 vectors.
No classes, closures or I/O.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = [
    "add_reverse_edges",
    "batch_search",
    "beam_search",
    "exact_knn",
    "inner_products_at",
    "insert_nodes",
    "link_nodes",
    "reconnect_around_deleted",
    "repair_connectivity",
    "search_range",
    "select_mrng",
    "spherical_kmeans",
]

JIT = {"nogil": True, "cache": True, "fastmath": True}
# Entry points select numba's workqueue threading layer (`toolnav.runtime.configure_process`):
# its OpenMP layer and torch's own OpenMP runtime starve each other (torch's bulk embedding ran
# 40-170x slower once an NSG build had run). The workqueue layer aborts the process if two
# Python threads run parallel kernels at once: callers hold PARALLEL_LOCK around every
# parallel=True kernel.
PARALLEL_LOCK = threading.RLock()
CACHE_LINE_BYTES = 64


@intrinsic
def prefetch(typingctx, array, row, column):
    """Hint the CPU to load the cache line holding array[row, column] (llvm.prefetch; no
    effect on results). Beam search issues it for the next neighbour's vector while it
    computes the current distance, hiding most of the memory latency of the graph walk."""

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        array_value = context.make_array(array_type)(context, builder, args[0])
        indices = [context.cast(builder, value, value_type, types.intp)
                   for value, value_type in zip(args[1:], signature.args[1:], strict=True)]
        pointer = cgutils.get_item_pointer(context, builder, array_type, array_value, indices)
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]),
            "llvm.prefetch.p0")
        read, keep_in_all_caches, data_cache = (ir.Constant(int32, v) for v in (0, 3, 1))
        builder.call(function, [builder.bitcast(pointer, byte_pointer), read,
                                keep_in_all_caches, data_cache])
        return context.get_dummy_value()

    return types.void(array, row, column), codegen


@numba.njit(**JIT)
def prefetch_vector(vectors, node):
    """`prefetch` every cache line of vectors[node]."""
    for column in range(0, vectors.shape[1], CACHE_LINE_BYTES // vectors.itemsize):
        prefetch(vectors, node, column)


@numba.njit(**JIT)
def distance(vectors, a, b):
    total = np.float32(0.0)
    for i in range(vectors.shape[1]):
        total += vectors[a, i] * vectors[b, i]
    return np.float32(1.0) - total


@numba.njit(**JIT)
def query_distance(vectors, node, query):
    """1 - <vectors[node], query>; *vectors* may be int8 codes with a pre-scaled query."""
    total = np.float32(0.0)
    for i in range(vectors.shape[1]):
        total += np.float32(vectors[node, i]) * query[i]
    return np.float32(1.0) - total


@numba.njit(**JIT)
def inner_products_at(queries, vectors, rows, out):
    """out[q, j] = <queries[q], vectors[rows[j]]>, reading each row in place, once for every
    query."""
    for j in range(rows.shape[0]):
        row = rows[j]
        for q in range(queries.shape[0]):
            total = np.float32(0.0)
            for i in range(vectors.shape[1]):
                total += vectors[row, i] * queries[q, i]
            out[q, j] = total
    return out


@numba.njit(parallel=True, **JIT)
def select_top_k(scores, k, out_ids, out_dist, row_offset, bounds):
    """Per row of a similarity block, the k most similar columns (excluding the row itself)
    closer than the row's bound; missing places are left as (-1, inf)."""
    for row in numba.prange(scores.shape[0]):
        heap_ids = np.full(k, -1, dtype=np.int32)
        heap_dist = np.full(k, np.inf, dtype=np.float32)
        bound = bounds[row]
        for col in range(scores.shape[1]):
            if col == row + row_offset:
                continue
            d = np.float32(1.0) - scores[row, col]
            if d >= heap_dist[0] or d >= bound:
                continue
            # replace the root of the max-heap and sift down
            heap_dist[0] = d
            heap_ids[0] = col
            i = 0
            while True:
                left = 2 * i + 1
                if left >= k:
                    break
                child = left
                if left + 1 < k and heap_dist[left + 1] > heap_dist[left]:
                    child = left + 1
                if heap_dist[child] <= heap_dist[i]:
                    break
                heap_dist[i], heap_dist[child] = heap_dist[child], heap_dist[i]
                heap_ids[i], heap_ids[child] = heap_ids[child], heap_ids[i]
                i = child
        order = np.argsort(heap_dist)
        out_ids[row] = heap_ids[order]
        out_dist[row] = heap_dist[order]


def exact_knn(vectors: np.ndarray, k: int, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours of every row, by blocked matrix products (BLAS) and heaps."""
    n = vectors.shape[0]
    ids = np.empty((n, k), dtype=np.int32)
    dist = np.empty((n, k), dtype=np.float32)
    unbounded = np.full(block, np.inf, dtype=np.float32)
    for start in range(0, n, block):
        stop = min(start + block, n)
        scores = vectors[start:stop] @ vectors.T
        select_top_k(scores, k, ids[start:stop], dist[start:stop], start, unbounded)
    return ids, dist


@numba.njit(parallel=True, **JIT)
def merge_neighbours(best_ids, best_dist, members, local_ids, local_dist):
    """Fold per-cluster neighbour lists (local indices into *members*) into global lists."""
    k = best_ids.shape[1]
    for row in numba.prange(members.shape[0]):
        point = members[row]
        for j in range(local_ids.shape[1]):
            local = local_ids[row, j]
            if local < 0:
                continue
            candidate = members[local]
            d = local_dist[row, j]
            if d >= best_dist[point, k - 1]:
                break  # local lists are sorted: nothing further can enter
            duplicate = False
            for e in range(k):
                if best_ids[point, e] == candidate:
                    duplicate = True
                    break
            if duplicate:
                continue
            position = k - 1
            while position > 0 and best_dist[point, position - 1] > d:
                best_ids[point, position] = best_ids[point, position - 1]
                best_dist[point, position] = best_dist[point, position - 1]
                position -= 1
            best_ids[point, position] = candidate
            best_dist[point, position] = d


@numba.njit(**JIT)
def next_tag(visited, tag):
    """The next visited-tag; clears the tags when the uint16 counter would wrap."""
    tag += 1
    if tag == 65535:
        visited[:] = 0
        tag = 1
    return tag


@numba.njit(**JIT)
def insert_sorted(pool_ids, pool_dist, checked, count, node, d):
    """Binary-insert (node, d) into the sorted pool; returns (new count, position or -1)."""
    pool_size = pool_ids.shape[0]
    if count == pool_size and d >= pool_dist[count - 1]:
        return count, -1
    lo, hi = 0, count
    while lo < hi:
        mid = (lo + hi) // 2
        if pool_dist[mid] <= d:
            lo = mid + 1
        else:
            hi = mid
    last = count if count < pool_size else pool_size - 1
    for j in range(last, lo, -1):
        pool_ids[j] = pool_ids[j - 1]
        pool_dist[j] = pool_dist[j - 1]
        checked[j] = checked[j - 1]
    pool_ids[lo] = node
    pool_dist[lo] = d
    checked[lo] = False
    return min(count + 1, pool_size), lo


def spherical_kmeans(vectors: np.ndarray, count: int, rng: np.random.Generator,
                     rounds: int = 6) -> np.ndarray:
    """*count* unit centres spread over the unit *vectors*: k-means++ seeding (so a small,
    distant cluster still gets a centre) and Lloyd rounds, on a sample of 30 per centre."""
    n = vectors.shape[0]
    sample = vectors[rng.choice(n, min(n, 30 * count), replace=False)]
    count = min(count, len(sample))
    centroids = np.empty((count, vectors.shape[1]), dtype=np.float32)
    centroids[0] = sample[rng.integers(len(sample))]
    distance_to_nearest = np.maximum(1.0 - sample @ centroids[0], 0.0)
    for i in range(1, count):
        weights = distance_to_nearest.astype(np.float64) ** 2
        total = weights.sum()
        if total > 0:
            centroids[i] = sample[rng.choice(len(sample), p=weights / total)]
        else:  # every sampled point already coincides with a centre
            centroids[i] = sample[rng.integers(len(sample))]
        np.minimum(distance_to_nearest, np.maximum(1.0 - sample @ centroids[i], 0.0),
                   out=distance_to_nearest)
    for _ in range(rounds):
        nearest = np.argmax(sample @ centroids.T, axis=1)
        for cell in np.unique(nearest):
            mean = sample[nearest == cell].mean(axis=0)
            centroids[cell] = mean / max(np.linalg.norm(mean), 1e-12)
    return centroids


def clustered_knn(vectors: np.ndarray, k: int, probes: int = 4, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Approximate k nearest neighbours for large sets: each point joins its *probes* nearest
    of ~sqrt(n) k-means cells, and neighbours are found exactly inside each cell."""
    n = vectors.shape[0]
    count = max(2, int(np.sqrt(n)))
    centroids = spherical_kmeans(vectors, count, np.random.default_rng(seed))
    probes = min(probes, count)
    cells = np.argpartition(-(vectors @ centroids.T), probes - 1, axis=1)[:, :probes]
    best_ids = np.full((n, k), -1, dtype=np.int32)
    best_dist = np.full((n, k), np.inf, dtype=np.float32)
    order = np.argsort(cells.ravel(), kind="stable")
    points = (order // probes).astype(np.int32)
    bounds = np.searchsorted(cells.ravel()[order], np.arange(count + 1))
    for cell in range(count):
        members = points[bounds[cell]:bounds[cell + 1]]
        if len(members) < 2:
            continue
        width = min(k, len(members) - 1)
        local_ids = np.empty((len(members), width), dtype=np.int32)
        local_dist = np.empty((len(members), width), dtype=np.float32)
        block = vectors[members]
        # a candidate no closer than a member's current k-th neighbour (from cells already
        # merged) cannot enter its list, so the selection skips it
        select_top_k(block @ block.T, width, local_ids, local_dist, 0, best_dist[members, k - 1])
        merge_neighbours(best_ids, best_dist, members, local_ids, local_dist)
    return best_ids, best_dist


@numba.njit(**JIT)
def record(collect_ids, collect_dist, collected, node, d):
    """Append (node, d) to the collection while it has room; returns the new count."""
    if collected < collect_ids.shape[0]:
        collect_ids[collected] = node
        collect_dist[collected] = d
        collected += 1
    return collected


@numba.njit(**JIT)
def beam_search(graph, degrees, vectors, query, entry, seeds, pool_size, visited, tag,
                pool_ids, pool_dist, checked, collect_ids, collect_dist):
    """Greedy beam search from *entry* (and *seeds*) with a sorted pool of *pool_size*.

    Fills pool_ids/pool_dist (ascending distance; *checked* is scratch of the same size that
    needs no reset) and returns (pool count, collected count); every node whose distance was
    computed is appended to collect_* while room remains.
    """
    count = 0
    collected = 0
    unvisited = np.empty(graph.shape[1], dtype=np.int32)
    for i in range(seeds.shape[0] + 1):
        node = entry if i == 0 else seeds[i - 1]
        if visited[node] == tag:
            continue
        visited[node] = tag
        d = query_distance(vectors, node, query)
        collected = record(collect_ids, collect_dist, collected, node, d)
        count, _ = insert_sorted(pool_ids, pool_dist, checked, count, node, d)
    k = 0
    while k < count:
        if checked[k]:
            k += 1
            continue
        checked[k] = True
        node = pool_ids[k]
        lowest = count
        fresh = 0
        for e in range(degrees[node]):
            neighbour = graph[node, e]
            if visited[neighbour] != tag:
                visited[neighbour] = tag
                unvisited[fresh] = neighbour
                fresh += 1
        if fresh > 0:
            prefetch_vector(vectors, unvisited[0])
        for j in range(fresh):
            if j + 1 < fresh:
                prefetch_vector(vectors, unvisited[j + 1])
            neighbour = unvisited[j]
            d = query_distance(vectors, neighbour, query)
            collected = record(collect_ids, collect_dist, collected, neighbour, d)
            count, position = insert_sorted(pool_ids, pool_dist, checked, count, neighbour, d)
            if 0 <= position < lowest:
                lowest = position
        k = lowest if lowest <= k else k + 1
    return count, collected


@numba.njit(**JIT)
def nearest_pivot(pivots, pivot_vectors, query):
    """The pivot closest to *query* (pivot_vectors: their rows, contiguous and cache-resident)."""
    best, best_distance = pivots[0], np.float32(np.inf)
    for i in range(pivots.shape[0]):
        d = query_distance(pivot_vectors, i, query)
        if d < best_distance:
            best, best_distance = pivots[i], d
    return best


@numba.njit(**JIT)
def rerank(vectors, query, pool_ids, pool_dist, count):
    """Replace the pool's distances by exact ones and sort the pool by them."""
    for j in range(count):
        pool_dist[j] = query_distance(vectors, pool_ids[j], query)
    order = np.argsort(pool_dist[:count], kind="mergesort")
    pool_ids[:count] = pool_ids[:count][order]
    pool_dist[:count] = pool_dist[:count][order]


@numba.njit(**JIT)
def search_range(graph, degrees, vectors, codes, scale, queries, pivots, pivot_vectors,
                 pool_size, start, stop, out_ids, out_dist):
    """Beam search for queries[start:stop] on the calling thread, each from its nearest pivot
    (chosen here, not by a BLAS call, whose spinning threads would contend with ours).

    The walk compares the query, multiplied by *scale*, with the int8 *codes* of the vectors;
    the final pool is re-ranked with the float32 *vectors*, so returned distances are exact.
    """
    empty_ids = np.empty(0, dtype=np.int32)
    empty_dist = np.empty(0, dtype=np.float32)
    visited = np.zeros(vectors.shape[0], dtype=np.uint16)
    pool_ids = np.empty(pool_size, dtype=np.int32)
    pool_dist = np.empty(pool_size, dtype=np.float32)
    checked = np.empty(pool_size, dtype=np.bool_)
    scaled = np.empty(scale.shape[0], dtype=np.float32)
    tag = 0
    for q in range(start, stop):
        tag = next_tag(visited, tag)
        query = queries[q]
        scale_query(query, scale, scaled)
        entry = nearest_pivot(pivots, pivot_vectors, query)
        count, _ = beam_search(graph, degrees, codes, scaled, entry, empty_ids, pool_size,
                               visited, np.uint16(tag), pool_ids, pool_dist, checked,
                               empty_ids, empty_dist)
        rerank(vectors, query, pool_ids, pool_dist, count)
        out_ids[q, :count] = pool_ids[:count]
        out_dist[q, :count] = pool_dist[:count]
        out_ids[q, count:] = -1
        out_dist[q, count:] = np.inf


@numba.njit(parallel=True, **JIT)
def batch_search(graph, degrees, vectors, codes, scale, queries, pivots, pivot_vectors,
                 pool_size, threads, out_ids, out_dist):
    """`search_range` over *threads* chunks of the queries in parallel."""
    n_queries = queries.shape[0]
    chunk = (n_queries + threads - 1) // threads
    for t in numba.prange(threads):
        search_range(graph, degrees, vectors, codes, scale, queries, pivots, pivot_vectors,
                     pool_size, t * chunk, min((t + 1) * chunk, n_queries), out_ids, out_dist)


@numba.njit(**JIT)
def select_mrng(vectors, node, cand_ids, cand_dist, count, max_candidates, degree,
                out_ids, out_dist):
    """MRNG edge selection over candidates sorted by distance to *node*.

    Keeps candidate c unless a kept r has d(r, c) < d(node, c); skips node itself and
    duplicates; looks at no more than max_candidates; keeps at most *degree*. Returns kept.
    """
    kept = 0
    for i in range(min(count, max_candidates)):
        if kept >= degree:
            break
        c = cand_ids[i]
        if c == node:
            continue
        occluded = False
        for j in range(kept):
            if out_ids[j] == c or distance(vectors, out_ids[j], c) < cand_dist[i]:
                occluded = True
                break
        if not occluded:
            out_ids[kept] = c
            out_dist[kept] = cand_dist[i]
            kept += 1
    return kept


@numba.njit(**JIT)
def scale_query(vector, scale, out):
    """out = vector * scale: a float32 query for distances against int8 codes."""
    for i in range(scale.shape[0]):
        out[i] = vector[i] * scale[i]
    return out


@numba.njit(**JIT)
def nearest_exact(vectors, node, cand_ids, approx_dist, count, limit):
    """The *limit* candidates nearest by approximate distance, re-measured exactly and sorted
    by the exact distance: (ids, distances)."""
    if count > limit:  # select before sorting: a search can see thousands of candidates
        threshold = np.partition(approx_dist[:count], limit - 1)[limit - 1]
        ids = cand_ids[:count][approx_dist[:count] <= threshold][:limit]
    else:
        ids = cand_ids[:count].copy()
    exact = np.empty(ids.shape[0], dtype=np.float32)
    for i in range(ids.shape[0]):
        exact[i] = distance(vectors, node, ids[i])
    resorted = np.argsort(exact, kind="mergesort")
    return ids[resorted], exact[resorted]


@numba.njit(**JIT)
def _link_one(knn_ids, knn_graph_degrees, vectors, codes, scaled, node, entry, seeds,
              pool_size, max_candidates, degree, visited, tag, pool_ids, pool_dist, checked,
              collect_ids, collect_dist, graph, degrees, dists):
    _, collected = beam_search(knn_ids, knn_graph_degrees, codes, scaled, entry, seeds,
                               pool_size, visited, tag, pool_ids, pool_dist, checked,
                               collect_ids, collect_dist)
    for e in range(knn_ids.shape[1]):  # the node's own neighbours, if the search missed them
        neighbour = knn_ids[node, e]
        if visited[neighbour] != tag and collected < collect_ids.shape[0]:
            visited[neighbour] = tag
            collect_ids[collected] = neighbour
            collect_dist[collected] = query_distance(codes, neighbour, scaled)
            collected += 1
    ids, exact = nearest_exact(vectors, node, collect_ids, collect_dist, collected,
                               max_candidates)
    degrees[node] = select_mrng(vectors, node, ids, exact, ids.shape[0], max_candidates,
                                degree, graph[node], dists[node])


@numba.njit(parallel=True, **JIT)
def link_nodes(knn_ids, vectors, codes, scale, entry, seeds, pool_size, max_candidates, degree,
               threads, graph, degrees, dists):
    """NSG link phase: each node's edges by MRNG over the nodes its search on the kNN graph,
    from *entry* and the spread-out *seeds*, saw (seeds reach clusters the kNN graph splits).
    The search walks the int8 *codes*; the nearest max_candidates it saw are measured exactly."""
    n = vectors.shape[0]
    knn_degrees = np.full(n, knn_ids.shape[1], dtype=np.int32)
    chunk = (n + threads - 1) // threads
    capacity = (pool_size + seeds.shape[0]) * knn_ids.shape[1] + knn_ids.shape[1] + 1
    for t in numba.prange(threads):
        visited = np.zeros(n, dtype=np.uint16)
        pool_ids = np.empty(pool_size, dtype=np.int32)
        pool_dist = np.empty(pool_size, dtype=np.float32)
        checked = np.empty(pool_size, dtype=np.bool_)
        collect_ids = np.empty(capacity, dtype=np.int32)
        collect_dist = np.empty(capacity, dtype=np.float32)
        scaled = np.empty(scale.shape[0], dtype=np.float32)
        tag = 0
        for node in range(t * chunk, min((t + 1) * chunk, n)):
            tag = next_tag(visited, tag)
            _link_one(knn_ids, knn_degrees, vectors, codes,
                      scale_query(vectors[node], scale, scaled), node, entry, seeds, pool_size,
                      max_candidates, degree, visited, np.uint16(tag), pool_ids, pool_dist,
                      checked, collect_ids, collect_dist, graph, degrees, dists)


@numba.njit(**JIT)
def insert_edge(vectors, graph, degrees, dists, target, source, d):
    """Add source to target's list; if full, re-select target's list by MRNG (no C cap)."""
    degree = graph.shape[1]
    for e in range(degrees[target]):
        if graph[target, e] == source:
            return
    if degrees[target] < degree:
        graph[target, degrees[target]] = source
        dists[target, degrees[target]] = d
        degrees[target] += 1
        return
    cand_ids = np.empty(degree + 1, dtype=np.int32)
    cand_dist = np.empty(degree + 1, dtype=np.float32)
    cand_ids[:degree] = graph[target]
    cand_dist[:degree] = dists[target]
    cand_ids[degree] = source
    cand_dist[degree] = d
    order = np.argsort(cand_dist)
    cand_ids = cand_ids[order]
    cand_dist = cand_dist[order]
    out_ids = np.empty(degree, dtype=np.int32)
    out_dist = np.empty(degree, dtype=np.float32)
    kept = select_mrng(vectors, target, cand_ids, cand_dist, degree + 1, degree + 1, degree,
                       out_ids, out_dist)
    graph[target, :kept] = out_ids[:kept]
    dists[target, :kept] = out_dist[:kept]
    degrees[target] = kept


@numba.njit(**JIT)
def add_reverse_edges(vectors, graph, degrees, dists, nodes):
    """For every edge p -> j with p in *nodes*, add j -> p (re-pruning full lists)."""
    for p in nodes:
        for e in range(degrees[p]):
            insert_edge(vectors, graph, degrees, dists, graph[p, e], p, dists[p, e])


@numba.njit(**JIT)
def repair_connectivity(graph, degrees, dists, vectors, alive, entry, pool_size):
    """Make every live node reachable from *entry*: DFS, then attach each unreached node to
    the nearest reached node with spare degree found by a search. Returns edges added."""
    n = vectors.shape[0]
    degree = graph.shape[1]
    reached = np.zeros(n, dtype=np.bool_)
    stack = np.empty(n, dtype=np.int32)
    visited = np.zeros(n, dtype=np.uint16)
    pool_ids = np.empty(pool_size, dtype=np.int32)
    pool_dist = np.empty(pool_size, dtype=np.float32)
    checked = np.empty(pool_size, dtype=np.bool_)
    capacity = pool_size * degree + 1
    collect_ids = np.empty(capacity, dtype=np.int32)
    collect_dist = np.empty(capacity, dtype=np.float32)
    added = 0
    tag = 0
    root = entry
    while True:
        top = 0
        stack[0] = root
        reached[root] = True
        while top >= 0:
            node = stack[top]
            top -= 1
            for e in range(degrees[node]):
                neighbour = graph[node, e]
                if not reached[neighbour]:
                    reached[neighbour] = True
                    top += 1
                    stack[top] = neighbour
        orphan = -1
        for i in range(n):
            if alive[i] and not reached[i]:
                orphan = i
                break
        if orphan < 0:
            return added
        tag = next_tag(visited, tag)
        _, collected = beam_search(graph, degrees, vectors, vectors[orphan], entry,
                                   np.empty(0, dtype=np.int32), pool_size, visited,
                                   np.uint16(tag), pool_ids, pool_dist, checked,
                                   collect_ids, collect_dist)
        order = np.argsort(collect_dist[:collected])
        parent = -1
        for i in order:
            c = collect_ids[i]
            if reached[c] and alive[c] and degrees[c] < degree:
                parent = c
                break
        if parent < 0:  # every reached candidate is full: take any reached node with room
            for c in range(n):
                if reached[c] and alive[c] and degrees[c] < degree:
                    parent = c
                    break
        if parent < 0:  # nothing has room: replace the parent's farthest edge
            parent = entry
            degrees[parent] -= 1
        graph[parent, degrees[parent]] = orphan
        dists[parent, degrees[parent]] = distance(vectors, parent, orphan)
        degrees[parent] += 1
        added += 1
        root = orphan


@numba.njit(**JIT)
def insert_nodes(graph, degrees, dists, vectors, new_nodes, entry, seeds, pool_size,
                 max_candidates):
    """Link new nodes one by one: search from *entry*, MRNG-select, add reverse edges."""
    n = vectors.shape[0]
    degree = graph.shape[1]
    visited = np.zeros(n, dtype=np.uint16)
    pool_ids = np.empty(pool_size, dtype=np.int32)
    pool_dist = np.empty(pool_size, dtype=np.float32)
    checked = np.empty(pool_size, dtype=np.bool_)
    capacity = (pool_size + seeds.shape[0]) * degree + 1
    collect_ids = np.empty(capacity, dtype=np.int32)
    collect_dist = np.empty(capacity, dtype=np.float32)
    tag = 0
    for node in new_nodes:
        tag = next_tag(visited, tag)
        _, collected = beam_search(graph, degrees, vectors, vectors[node], entry, seeds,
                                   pool_size, visited, np.uint16(tag), pool_ids, pool_dist,
                                   checked, collect_ids, collect_dist)
        order = np.argsort(collect_dist[:collected])
        degrees[node] = select_mrng(vectors, node, collect_ids[:collected][order],
                                    collect_dist[:collected][order], collected,
                                    max_candidates, degree, graph[node], dists[node])
        for e in range(degrees[node]):
            insert_edge(vectors, graph, degrees, dists, graph[node, e], node, dists[node, e])


@numba.njit(parallel=True, **JIT)
def reconnect_around_deleted(graph, degrees, dists, vectors, alive, threads):
    """For each live node that points at deleted nodes, re-select its edges by MRNG from its
    live neighbours and the live neighbours of its deleted neighbours (FreshDiskANN-style)."""
    n = vectors.shape[0]
    degree = graph.shape[1]
    chunk = (n + threads - 1) // threads
    for t in numba.prange(threads):
        cand_ids = np.empty(degree * (degree + 1), dtype=np.int32)
        cand_dist = np.empty(degree * (degree + 1), dtype=np.float32)
        out_ids = np.empty(degree, dtype=np.int32)
        out_dist = np.empty(degree, dtype=np.float32)
        for p in range(t * chunk, min((t + 1) * chunk, n)):
            if not alive[p]:
                continue
            touched = False
            for e in range(degrees[p]):
                if not alive[graph[p, e]]:
                    touched = True
                    break
            if not touched:
                continue
            count = 0
            for e in range(degrees[p]):
                v = graph[p, e]
                if alive[v]:
                    cand_ids[count] = v
                    count += 1
                    continue
                for f in range(degrees[v]):
                    w = graph[v, f]
                    if alive[w] and w != p:
                        cand_ids[count] = w
                        count += 1
            for i in range(count):
                cand_dist[i] = distance(vectors, p, cand_ids[i])
            order = np.argsort(cand_dist[:count])
            kept = select_mrng(vectors, p, cand_ids[:count][order], cand_dist[:count][order],
                               count, count, degree, out_ids, out_dist)
            graph[p, :kept] = out_ids[:kept]
            dists[p, :kept] = out_dist[:kept]
            degrees[p] = kept
