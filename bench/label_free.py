"""The label-free request table (`toolnav tune --label-free`) against the int8 transformer.

Both embed the same requests, routed (hybrid) over the same union catalog of the five shared
sets in ../shared/data (~7.9k tools, the bundled model's tool vectors): recall@5 and
complete@10 per set over every request of the set (or a fixed sample), and one request's
embedding time (request and its intent parts, 1 thread), p50 / p99. The table is distilled on
the catalog's tool texts and description sentences only, never on a request, so every
request is one it has not seen.

The table is HOME's (``HOME/model``, written by ``toolnav --home HOME tune --label-free
DATA/seal_tools ...``); a HOME without one gets it trained here first, on the same catalog.

Example:
    OMP_NUM_THREADS=1 PYTHONPATH=src:. .venv/bin/python bench/label_free.py --home /tmp/lf
    .venv/bin/python bench/label_free.py --home /tmp/lf --sample 300
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from bench.models import DATA, SETS, mean_of, per_request
from bench.route import time_embedding
from toolnav.embed import TUNED_MODEL_DIR, MiniLMEmbedder, label_free_table, load_default_embedder
from toolnav.evaluation.evaluate import union_catalog
from toolnav.route import Router
from toolnav.tuning.label_free import write_label_free_table


def show(stage: str, done: int, total: int) -> None:
    """Progress on stderr, a line per stage and every 10 %."""
    if total and (done == total or done % max(1, total // 10) == 0):
        print(f"  {stage}: {done}/{total}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True,
                        help="a toolnav home; its label-free table is trained first if missing")
    parser.add_argument("--sample", type=int, default=0,
                        help="requests per set (a fixed random sample; 0: all)")
    parser.add_argument("--timed", type=int, default=300, help="requests timed one at a time")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared datasets")
    args = parser.parse_args()
    directories = [args.data / name for name in SETS]
    if not all((directory / "queries.jsonl").is_file() for directory in directories):
        print(f"skipped: the datasets are not in {args.data}")
        return 0
    import torch

    torch.set_num_threads(1)
    bundled = MiniLMEmbedder(threads=1)
    if label_free_table(args.home) is None:
        began = time.perf_counter()
        with union_catalog(directories, home=args.home, embedder=bundled, progress=show
                           ) as (toolnav, _):
            report = write_label_free_table(toolnav, args.home / TUNED_MODEL_DIR,
                                            progress=show)
        print(f"table trained on {report.tool_texts} tool texts and {report.pseudo_requests} "
              f"pseudo-requests in {time.perf_counter() - began:.0f} s")
    table = load_default_embedder(args.home, threads=1)
    if table.request_encoder != "table":
        raise SystemExit(f"{args.home} routes requests with {table.request_encoder}, not a table")
    encoders = {"label-free table": table, "int8 transformer": bundled}
    rows = []
    timing_pool: list[str] = []
    with union_catalog(directories, home=args.home, embedder=bundled) as (toolnav, sets):
        indexed = toolnav.maintainer.snapshot()
        routers = {name: Router(indexed, embedder) for name, embedder in encoders.items()}
        for labelled in sets:
            chosen = list(range(len(labelled.queries)))
            if args.sample and len(chosen) > args.sample:
                chosen = sorted(random.Random(labelled.name).sample(chosen, args.sample))
            texts = [labelled.queries[i].text for i in chosen]
            gold = [labelled.gold[i] for i in chosen]
            timing_pool.extend(texts[:args.timed])
            rows.append((labelled.name, len(texts), {
                name: mean_of(per_request(router, texts, gold, "hybrid"))
                for name, router in routers.items()}))
            print(f"  scored {labelled.name}", file=sys.stderr, flush=True)
    random.Random(0).shuffle(timing_pool)
    print(f"\nhybrid routing over the union catalog ({len(indexed.tools)} tools); "
          "recall@5 / complete@10")
    print(f"{'set':18s} {'requests':>8s} {'label-free table':>17s} {'int8 transformer':>17s} "
          f"{'recall@5 change':>16s}")
    for name, count, scores in rows:
        fast, slow = scores["label-free table"], scores["int8 transformer"]
        print(f"{name:18s} {count:8d} {fast['r@5']:8.3f} / {fast['c@10']:.3f} "
              f"{slow['r@5']:8.3f} / {slow['c@10']:.3f} {fast['r@5'] - slow['r@5']:+16.3f}")
    print(f"\none request's embedding (request + intent parts), {args.timed} requests, 1 thread")
    for name, embedder in encoders.items():
        time_embedding(embedder, timing_pool, 10)  # load and warm up
        p50, p99 = time_embedding(embedder, timing_pool, args.timed)
        print(f"{name:18s} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
