"""ANN benchmark: toolnav's NSG vs hnswlib, FAISS HNSW, FAISS NSG and exact search.

Data: (1) >= 100k real 384-d sentence embeddings made with the bundled MiniLM from the names and
first docstring lines of every function and class in the installed Python packages (read with
`ast`, nothing imported), plus the ../shared/data tools when present; cached under
~/.cache/toolnav-bench/. (2) A clustered synthetic set (Gaussian mixture on the unit sphere).
Ground truth by exact search. Prints recall@10 against QPS for each index and search setting,
single-thread and two-thread, build times and memory, QPS interpolated at recall 0.95 and 0.99,
and writes a PNG plot.

Run (after `make bench-deps`):
    .venv/bin/python bench/ann.py [--points 100000] [--queries 1000] [--plot bench/out/ann.png]
    .venv/bin/python bench/ann.py --updates 30000     # insert/delete vs fresh build only
"""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import os
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

CACHE = Path.home() / ".cache" / "toolnav-bench"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
K = 10
NSG_LABEL = "toolnav NSG (defaults)"
HNSW_LABEL = "hnswlib (M16 efC200)"


def corpus_texts(limit: int) -> list[str]:
    """Names and docstring first lines of functions/classes in site-packages, deduplicated."""
    texts: dict[str, None] = {}
    for folder in ("tools.jsonl",):
        for dataset in ("seal_tools", "toolbench"):
            path = DATA / dataset / folder
            if path.is_file():
                for line in path.read_text().splitlines():
                    row = json.loads(line)
                    texts[f"{row['name']}: {row['description']}"[:300]] = None
    roots = [Path(sysconfig.get_paths()[key]) for key in ("purelib", "stdlib")]
    files = [path for root in roots for path in sorted(root.rglob("*.py"))]
    for path in files:
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError):
            continue
        module = ".".join(path.with_suffix("").parts[-3:])
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if node.name.startswith("_"):
                    continue
                doc = (ast.get_docstring(node) or "").strip()
                summary = doc.splitlines()[0] if doc else f"defined in {module}"
                texts[f"{node.name}: {summary}"[:300]] = None
        if len(texts) >= limit:
            break
    return list(texts)[:limit]


def real_embeddings(points: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """Cached unit embeddings: *points* to index and *queries* held out (distinct texts)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"minilm-corpus-{points + queries}.npy"
    if not path.is_file():
        from toolnav.embed import MiniLMEmbedder

        texts = corpus_texts(points + queries)
        if len(texts) < points + queries:
            sys.exit(f"only {len(texts)} distinct texts found; lower --points")
        rng = np.random.default_rng(0)
        texts = [texts[i] for i in rng.permutation(len(texts))]
        embedder = MiniLMEmbedder(batch_size=64)
        started = time.perf_counter()
        chunks = []
        for start in range(0, len(texts), 4096):
            chunks.append(embedder.embed(texts[start:start + 4096]))
            print(f"  embedded {start + len(chunks[-1])}/{len(texts)} "
                  f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        np.save(path, np.concatenate(chunks))
    vectors = np.load(path)
    return vectors[:points], vectors[points:points + queries]


def clustered(points: int, queries: int, dim: int = 384, clusters: int = 100
              ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(clusters, dim))
    total = points + queries
    data = centres[rng.integers(clusters, size=total)] + 0.6 * rng.normal(size=(total, dim))
    data = (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32)
    return data[:points], data[points:]


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]))


Search = Callable[[np.ndarray], np.ndarray]


def measure_interleaved(sweeps: dict[str, dict[int, list[Search]]], queries: np.ndarray,
                        truth: np.ndarray, rounds: int = 3
                        ) -> dict[str, dict[int, list[tuple[float, float]]]]:
    """(recall@10, best QPS of *rounds*) per index, thread count and setting.

    Each round times every setting of every index once, so a slow spell on the shared machine
    hits all indexes alike instead of whichever happened to be measured then.
    """
    recalls = {label: {threads: [recall_at_k(search(queries), truth) for search in settings]
                       for threads, settings in by_threads.items()}
               for label, by_threads in sweeps.items()}
    best = {label: {threads: [0.0] * len(settings) for threads, settings in by_threads.items()}
            for label, by_threads in sweeps.items()}
    for _ in range(rounds):
        for label, by_threads in sweeps.items():
            for threads, settings in by_threads.items():
                for i, search in enumerate(settings):
                    started = time.perf_counter()
                    search(queries)
                    qps = len(queries) / (time.perf_counter() - started)
                    best[label][threads][i] = max(best[label][threads][i], qps)
    return {label: {threads: list(zip(recalls[label][threads], best[label][threads],
                                      strict=True)) for threads in by_threads}
            for label, by_threads in sweeps.items()}


def qps_at(curve: list[tuple[float, float]], target: float) -> float | None:
    """QPS at a recall level, interpolated linearly between the bracketing settings."""
    points = sorted(curve)
    for (r0, q0), (r1, q1) in itertools.pairwise(points):
        if r0 <= target <= r1:
            return q0 if r1 == r0 else q0 + (q1 - q0) * (target - r0) / (r1 - r0)
    return None


def run(name: str, base: np.ndarray, queries: np.ndarray, threads: list[int]
        ) -> dict[str, dict]:
    import faiss
    import hnswlib

    from toolnav.config import NSGParams
    from toolnav.index import FlatIndex
    from toolnav.index.nsg import NSGIndex

    dim = base.shape[1]
    exact = FlatIndex(dim)
    exact.add(np.arange(len(base)), base)
    truth, _ = exact.search(queries, K)
    print(f"\n{name}: {len(base):,} x {dim} base, {len(queries):,} queries; NSG: {NSGParams()}")
    pools = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256]
    builds: dict[str, tuple[float, float]] = {}  # label -> (build seconds, memory MB)
    sweeps: dict[str, dict[int, list[Search]]] = {}

    started = time.perf_counter()
    nsg = NSGIndex(dim, NSGParams(threads=max(threads)))
    nsg.add(np.arange(len(base)), base)
    arrays = (nsg._vectors, nsg._codes, nsg._graph, nsg._dists)
    builds[NSG_LABEL] = (time.perf_counter() - started,
                         sum(array.nbytes for array in arrays) / 2**20)

    def nsg_search(pool: int, thread_count: int) -> Search:
        def search(q: np.ndarray) -> np.ndarray:
            nsg.params = replace(nsg.params, threads=thread_count)
            return nsg.search(q, K, pool=pool)[0]
        return search

    sweeps[NSG_LABEL] = {t: [nsg_search(L, t) for L in pools] for t in threads}

    started = time.perf_counter()
    hnsw = hnswlib.Index(space="ip", dim=dim)
    hnsw.init_index(max_elements=len(base), M=16, ef_construction=200, random_seed=0)
    hnsw.set_num_threads(max(threads))
    hnsw.add_items(base, np.arange(len(base)))
    builds[HNSW_LABEL] = (time.perf_counter() - started,
                          len(base) * (dim * 4 + 16 * 2 * 4 + 16) / 2**20)

    def hnsw_search(ef: int, thread_count: int) -> Search:
        def search(q: np.ndarray) -> np.ndarray:
            hnsw.set_num_threads(thread_count)
            hnsw.set_ef(max(ef, K))
            return hnsw.knn_query(q, K)[0]
        return search

    sweeps[HNSW_LABEL] = {t: [hnsw_search(ef, t) for ef in pools] for t in threads}

    def faiss_search(index, ef: int, thread_count: int) -> Search:
        def search(q: np.ndarray) -> np.ndarray:
            faiss.omp_set_num_threads(thread_count)
            if hasattr(index, "hnsw"):
                index.hnsw.efSearch = max(ef, K)
            else:
                index.nsg.search_L = max(ef, K)
            return index.search(q, K)[1]
        return search

    for label, factory in (("FAISS HNSW (M32 efC40)", lambda: faiss.IndexHNSWFlat(dim, 32)),
                           ("FAISS NSG (R32)", lambda: faiss.IndexNSGFlat(dim, 32))):
        faiss.omp_set_num_threads(max(threads))
        started = time.perf_counter()
        index = factory()
        index.add(base)
        builds[label] = (time.perf_counter() - started, len(base) * (dim * 4 + 32 * 2 * 4) / 2**20)
        sweeps[label] = {t: [faiss_search(index, ef, t) for ef in pools] for t in threads}

    curves = measure_interleaved(sweeps, queries, truth)
    faiss.omp_set_num_threads(1)
    builds["exact (numpy, BLAS threads)"] = (0.0, base.nbytes / 2**20)
    curves["exact (numpy, BLAS threads)"] = measure_interleaved(
        {"exact": {1: [lambda q: exact.search(q, K)[0]]}}, queries, truth, 1)["exact"]
    results: dict[str, dict] = {}
    for label, (build_seconds, memory_mb) in builds.items():
        results[label] = {"build_s": build_seconds, "memory_mb": memory_mb,
                          "curves": curves[label]}
        print(f"  {label:28} build {build_seconds:6.1f} s  memory {memory_mb:6.0f} MB")
        for thread_count, curve in curves[label].items():
            points = "  ".join(f"{r:.3f}@{q:,.0f}" for r, q in curve)
            print(f"    {thread_count} thread(s): recall@qps  {points}")
    return results


def summarise(name: str, results: dict[str, dict]) -> None:
    nsg, hnsw = results[NSG_LABEL], results[HNSW_LABEL]
    print(f"\n{name} summary (single thread, QPS interpolated on each curve):")
    for target in (0.95, 0.99):
        ours, peer = qps_at(nsg["curves"][1], target), qps_at(hnsw["curves"][1], target)
        ratio = f"{ours / peer:.2f}x" if ours and peer else "n/a"
        print(f"  recall {target}: NSG {ours or float('nan'):,.0f} QPS, hnswlib "
              f"{peer or float('nan'):,.0f} QPS -> {ratio}")
    print(f"  build: NSG {nsg['build_s']:.1f} s, hnswlib {hnsw['build_s']:.1f} s -> "
          f"{nsg['build_s'] / hnsw['build_s']:.2f}x")


def update_experiment(vectors: np.ndarray, queries: np.ndarray) -> None:
    """Build on 90% of the points, insert the other 10%, delete 10% of the originals, and
    compare recall@10 at equal search pools with a fresh build on the final set; then delete
    another 20% (past the consolidation threshold) and compare again."""
    from toolnav.index.nsg import NSGIndex

    count = len(vectors)
    first, extra = int(count * 0.9), np.arange(int(count * 0.9), count)
    deleted = np.random.default_rng(2).choice(first, size=count // 10, replace=False)
    updated = NSGIndex(vectors.shape[1])
    updated.add(np.arange(first), vectors[:first])
    started = time.perf_counter()
    updated.add(extra, vectors[extra])
    inserted = time.perf_counter() - started
    started = time.perf_counter()
    updated.remove(deleted)
    removed = time.perf_counter() - started
    print(f"\nupdates on {count:,} points: +{len(extra):,} inserted in {inserted:.1f} s, "
          f"-{len(deleted):,} deleted (tombstones) in {removed:.1f} s")
    compare_with_fresh(updated, vectors, np.setdiff1d(np.arange(count), deleted), queries)
    survivors = np.setdiff1d(np.arange(count), deleted)
    more = np.random.default_rng(3).choice(survivors, size=count // 5, replace=False)
    started = time.perf_counter()
    updated.remove(more)
    print(f"-{len(more):,} more deleted in {time.perf_counter() - started:.1f} s "
          f"(past {updated.params.consolidate_at:.0%}: consolidated, "
          f"{len(updated._ids):,} slots left)")
    compare_with_fresh(updated, vectors, np.setdiff1d(survivors, more), queries)


def compare_with_fresh(updated, vectors: np.ndarray, final: np.ndarray,
                       queries: np.ndarray) -> None:
    """recall@10 of *updated* and of a fresh build on the *final* points, at equal pools."""
    from toolnav.index import FlatIndex
    from toolnav.index.nsg import NSGIndex

    exact = FlatIndex(vectors.shape[1])
    exact.add(final, vectors[final])
    truth, _ = exact.search(queries, K)
    fresh = NSGIndex(vectors.shape[1])
    fresh.add(final, vectors[final])
    for pool in (16, 32, 64, 128):
        got = recall_at_k(updated.search(queries, K, pool=pool)[0], truth)
        want = recall_at_k(fresh.search(queries, K, pool=pool)[0], truth)
        print(f"  L={pool:3}: updated {got:.4f}  fresh {want:.4f}  difference {got - want:+.4f}")


def plot(all_results: dict[str, dict[str, dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(all_results), figsize=(7 * len(all_results), 5),
                                squeeze=False)
    for axis, (dataset, results) in zip(axes[0], all_results.items(), strict=True):
        for label, result in results.items():
            for thread_count, curve in result["curves"].items():
                recalls, qps = zip(*curve, strict=True)
                axis.plot(recalls, qps, marker="o", markersize=3,
                          linestyle="-" if thread_count == 1 else "--",
                          label=f"{label}, {thread_count}t")
        axis.set(title=dataset, xlabel="recall@10", ylabel="queries per second", yscale="log",
                 xlim=(0.8, 1.0))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--plot", type=Path, default=Path("bench/out/ann.png"))
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--updates", type=int, metavar="N",
                        help="only run the insert/delete experiment on N real points")
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if args.updates:
        base, queries = real_embeddings(args.points, args.queries)
        update_experiment(base[:args.updates], queries)
        return

    all_results = {}
    base, queries = real_embeddings(args.points, args.queries)
    all_results["MiniLM embeddings (real)"] = run("MiniLM embeddings (real)", base, queries,
                                                  [1, 2])
    if not args.skip_synthetic:
        base, queries = clustered(args.points, args.queries)
        all_results["clustered synthetic"] = run("clustered synthetic", base, queries, [1, 2])
    for name, results in all_results.items():
        summarise(name, results)
    plot(all_results, args.plot)
    print(f"\nplot written to {args.plot}")


if __name__ == "__main__":
    main()
