"""Does batching concurrent requests' embeddings pay? CPU per request of the request encoder
at batch sizes 1/4/8/16, on real mixed requests and on equal-length texts.

A gateway could collect the requests that arrive within a few milliseconds and embed them in
one encoder call. That pays only if one call of n texts costs less CPU than n calls of one.
This measures, on this CPU, for the default request encoder (`MiniLMEmbedder.embed_spans`,
int8 ONNX unless the model has a request table):

- mixed: the requests of bench/server.py (40 per set of ../shared/data, seed 0, shuffled), in
  consecutive groups of n, with their intent spans, as a batching gateway would embed them
  (the embedder pads each group to its longest request);
- equal: n texts of one fixed width (a repeated token), int8 encoder call only (no padding
  waste: the most batching could save).

CPU time is this process's (user + system, all threads), so other load on the machine
inflates it less than wall time. There is no peer: the question is internal.

Run:
    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python bench/request_batching.py
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from toolnav.embed import MiniLMEmbedder
from toolnav.embed._onnx import OnnxEncoder, cached_graph
from toolnav.embed.local import default_cache_dir, load_tokenizer
from toolnav.evaluation.evaluate import load_queries
from toolnav.route import intent_spans

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DATASETS = ("seal_tools", "toolbench", "gorilla_apibench", "metatool", "api_bank")
BATCHES = (1, 4, 8, 16)


def requests(per_set: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts = [query.text for name in DATASETS
             for query in rng.sample(load_queries(DATA / name), per_set)]
    rng.shuffle(texts)
    return texts


def cpu_ms_per_item(work: Callable[[], int], rounds: int) -> float:
    """CPU milliseconds per item of *work* (which returns how many items it did)."""
    work()  # warm up (sessions, allocations)
    began, items = time.process_time(), 0
    for _ in range(rounds):
        items += work()
    return (time.process_time() - began) / items * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-set", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads")
    args = parser.parse_args()
    if not all((DATA / name / "queries.jsonl").is_file() for name in DATASETS):
        print(f"skipped: {DATA} lacks {', '.join(DATASETS)}")
        return 0
    threadpool_limits(1)  # the pooling matmuls: one thread, as in `toolnav serve`
    embedder = MiniLMEmbedder(threads=args.threads)
    texts = requests(args.per_set, 0)
    spans = [intent_spans(text) for text in texts]
    tokenizer = load_tokenizer(embedder.model_dir)
    tokens = [len(encoding.ids) for encoding in tokenizer.encode_batch(texts)]
    print(f"request encoder {embedder.request_encoder}, {args.threads} ONNX thread(s); "
          f"{len(texts)} requests, tokens p50 {np.median(tokens):.0f} max {max(tokens)}")
    print("mixed requests (CPU ms per request):")
    for size in BATCHES:
        def mixed(size: int = size) -> int:
            for start in range(0, len(texts), size):
                embedder.embed_spans(texts[start:start + size], spans[start:start + size])
            return len(texts)
        print(f"  batch {size:2d}: {cpu_ms_per_item(mixed, args.rounds):6.2f}", flush=True)
    encoder = OnnxEncoder(cached_graph(embedder.model_dir, default_cache_dir(), int8=True),
                          args.threads)
    print("equal-length texts, int8 encoder only (CPU ms per text):")
    for width in (16, 32, 64):
        cells = []
        for size in BATCHES:
            ids = np.full((size, width), 2000, dtype=np.int64)
            mask = np.ones_like(ids)
            calls = max(1, 64 // size)

            def equal(ids: np.ndarray = ids, mask: np.ndarray = mask, calls: int = calls) -> int:
                for _ in range(calls):
                    encoder.encode(ids, mask)
                return calls * len(ids)
            cells.append(f"batch {size:2d} {cpu_ms_per_item(equal, 1):6.2f}")
        print(f"  {width:3d} tokens: " + "   ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
