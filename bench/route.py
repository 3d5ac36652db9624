"""Routing latency and throughput at ~10k tools, embedding included, per method side by side.

The catalog is the union of ../shared/data (Seal-Tools + ToolBench, 6.5k real tools) topped up
to --tools with namespaced copies of real tools (their text differs by the namespace words, so
they are embedded like any other tool). Requests are the datasets' own requests.

Requests are embedded by the home's default request encoder: the request table for a home
tuned by `toolnav tune` (or given a label-free one by `toolnav tune --label-free`), else the
int8 transformer. The same routing with the home's model's
other request encoders (int8 and fp32 transformer) is timed in the same run for comparison.

Example:
    .venv/bin/python bench/route.py --tools 10000 --requests 300
    .venv/bin/python bench/route.py --home HOME   # HOME holds `toolnav tune`'s model/
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from toolnav.embed import MiniLMEmbedder, RequestMemo, embed_with_spans, tuned_model_dir
from toolnav.evaluation.evaluate import load_queries
from toolnav.route import METHODS, Router, intent_spans
from toolnav.runtime import Toolnav

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATASETS = ("seal_tools", "toolbench")


def build_catalog(home: Path, tools: int, cache: Path | None) -> Toolnav:
    """A runtime over the union catalog of the shared datasets, topped up to *tools* with
    copies."""
    toolnav = Toolnav.open(home, embedding_cache=cache)
    for name in DATASETS:
        toolnav.catalog.add_source(DATA / name, name=name)
    real = toolnav.catalog.tools()
    extra = real[:max(0, tools - len(real))]
    if extra:
        toolnav.catalog.add_tools(extra, source="mirror")
    report = toolnav.index()
    print(f"catalog: {report.tools} tools ({report.embedded} embedded now, "
          f"{report.cached} cached) in {report.seconds:.1f} s", flush=True)
    return toolnav


def time_embedding(embedder, requests: list[str], samples: int) -> tuple[float, float]:
    """p50 and p99 ms of the model alone: one request and its parts, one forward pass."""
    latencies = []
    for request in requests[:samples]:
        began = time.perf_counter()
        embed_with_spans(embedder, [request], [intent_spans(request)])
        latencies.append((time.perf_counter() - began) * 1000)
    return percentile(latencies, 50), percentile(latencies, 99)


def time_methods(router: Router, requests: list[str], samples: int, batch: int,
                 methods: tuple[str, ...] = METHODS
                 ) -> dict[str, tuple[float, float, float, float]]:
    """p50, p99 and mean ms of single requests, and batched requests/s, per method."""
    rows = {}
    for method in methods:
        latencies = []
        for request in requests[:samples]:
            began = time.perf_counter()
            router.route(request, k=5, method=method)
            latencies.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        router.route_batch(requests[:batch], k=5, method=method)
        throughput = batch / (time.perf_counter() - began)
        rows[method] = (percentile(latencies, 50), percentile(latencies, 99),
                        statistics.fmean(latencies), throughput)
        p50, p99, mean, qps = rows[method]
        print(f"{method:8s} {p50:8.2f} {p99:8.2f} {mean:8.2f} {qps:14.1f}", flush=True)
    return rows


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300, help="single-request samples")
    parser.add_argument("--batch", type=int, default=256, help="batch size for throughput")
    parser.add_argument("--home", type=Path, default=None, help="reuse a catalog home")
    parser.add_argument("--embedding-cache", type=Path, default=None)
    args = parser.parse_args()
    if not all((DATA / name / "tools.jsonl").is_file() for name in DATASETS):
        print(f"skipped: {DATA} lacks {', '.join(DATASETS)}")
        return 0
    home = args.home or Path(tempfile.mkdtemp(prefix="toolnav-bench-route-"))
    toolnav = build_catalog(home, args.tools, args.embedding_cache)
    requests = [q.text for name in DATASETS for q in load_queries(DATA / name)]
    rng = np.random.default_rng(0)
    rng.shuffle(requests)
    started = time.perf_counter()
    indexed = toolnav.maintainer.snapshot()
    router = Router(indexed, toolnav.embedder)
    print(f"router ready: {time.perf_counter() - started:.2f} s", flush=True)
    for method in METHODS:
        router.route_batch(requests[:8], k=5, method=method)  # warm up (lazy loads, JIT)
    header = f"{'method':8s} {'p50 ms':>8s} {'p99 ms':>8s} {'mean ms':>8s} {'batched req/s':>14s}"
    print(f"\nembedding included\n{header}")
    rows = time_methods(router, requests, args.requests, args.batch)
    p50, p99 = time_embedding(toolnav.embedder, requests, args.requests)
    default = toolnav.embedder.request_encoder
    print(f"embedding alone ({default} request encoder; request + parts in one pass): "
          f"p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    for encoder in ("int8", "fp32"):
        if encoder == default:
            continue
        peer = MiniLMEmbedder(model_dir=tuned_model_dir(home), request_encoder=encoder)
        peer_router = Router(indexed, peer)  # same tools and indexes, other request encoder
        peer_router.route_batch(requests[:8], k=5)
        print(f"\nrequests embedded by the {encoder} transformer (same tools)\n{header}")
        time_methods(peer_router, requests, args.requests, args.batch, ("hybrid",))
        peer_p50, peer_p99 = time_embedding(peer, requests, args.requests)
        print(f"embedding alone, {encoder}: p50 {peer_p50:.2f} ms, p99 {peer_p99:.2f} ms "
              f"({default} / {encoder} p50: {p50 / peer_p50:.2f}x)")
    memo_router = Router(indexed, RequestMemo(toolnav.embedder))
    for method in ("dense", "hybrid"):  # embed every text once, outside the timing
        memo_router.route_batch(requests[:max(args.requests, args.batch)], method=method)
    print(f"\nembedding excluded (memoised request vectors)\n{header}")
    time_methods(memo_router, requests, args.requests, args.batch)
    hybrid = rows["hybrid"]
    print(f"\nhybrid / dense p50: {hybrid[0] / rows['dense'][0]:.2f}x; "
          f"hybrid / bm25 p50: {hybrid[0] / rows['bm25'][0]:.2f}x; "
          f"targets p50 <= 5 ms, p99 <= 15 ms, >= 300 req/s batched")
    toolnav.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
