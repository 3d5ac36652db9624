"""Chinese requests over English tools: the dev set routed as written, glossed, translated.

Routes bench/data/zh_dev.jsonl (160 requests translated by hand from the five shared sets,
39 mixed Chinese/English) over the union catalog of all five sets in ../shared/data with the
home's embedding model, once as written with `RouteParams(gloss=False)`, once glossed
(`toolnav.gloss`, the default), and, when the ``chinese`` extra is installed, machine
translated (`toolnav.translate`) alone (`gloss=False, translate=True`) and with glossing
(`translate=True`); and the same requests in English (`query_en`), in the same run.
Figures are recall@5 / recall@10 / complete@10 per method, for all requests, Chinese-only,
mixed, and the two halves of the set (crc32 of the id even: the half choices are made on;
odd: the half they are reported on); on stderr, the glossing and translation time per request
(translation timed first, one request at a time, after one warm-up sentence loads the model).

Example:
    OMP_NUM_THREADS=1 PYTHONPATH=src:. .venv/bin/python bench/chinese.py --home /tmp/evalhome
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import zlib
from pathlib import Path

from bench.models import DATA, SETS, ZH_DEV, load_zh, per_request
from bench.route import percentile
from toolnav.config import RouteParams, translation_installed
from toolnav.embed import load_default_embedder
from toolnav.evaluation.evaluate import union_catalog
from toolnav.gloss import gloss
from toolnav.route import Router
from toolnav.translate import translate

METHODS = ("bm25", "dense", "hybrid")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="toolnav home (its cache)")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    zh = load_zh(ZH_DEV)
    subsets = {
        "all": [True] * len(zh),
        "Chinese only": [not item["mixed"] for item in zh],
        "mixed": [item["mixed"] for item in zh],
        "half A (even crc32)": [zlib.crc32(item["id"].encode()) % 2 == 0 for item in zh],
        "half B (odd crc32)": [zlib.crc32(item["id"].encode()) % 2 == 1 for item in zh],
    }
    started = time.perf_counter()
    embedder = load_default_embedder(args.home)
    with union_catalog([args.data / name for name in SETS], home=args.home,
                       embedder=embedder) as (toolnav, sets):
        indexed = toolnav.maintainer.snapshot()
        gold_of = {(labelled.name, query.id): gold for labelled in sets
                   for query, gold in zip(labelled.queries, labelled.gold, strict=True)}
        gold = [gold_of[(item["set"], item["id"])] for item in zh]
        runs = {"Chinese, as written": (RouteParams(gloss=False), "query"),
                "Chinese, glossed": (RouteParams(), "query")}
        translating = translation_installed()
        if translating:
            runs["Chinese, translated"] = (RouteParams(gloss=False, translate=True), "query")
            runs["Chinese, translated + glossed"] = (RouteParams(translate=True), "query")
            translate("你好。")  # loads the model outside the timings
            # Timed before routing: the routes below then reuse these translations (cached).
            translation_ms = [timed(translate, item["query"]) for item in zh]
        else:
            print("the 'chinese' extra is not installed: no translated runs", file=sys.stderr)
        runs["English"] = (RouteParams(), "query_en")
        figures = {}
        for run, (params, field) in runs.items():
            router = Router(indexed, embedder, params)
            for method in METHODS:
                figures[run, method] = per_request(router, [item[field] for item in zh],
                                                   gold, method)
        timings = [timed(gloss, item["query"]) for item in zh]
    print(f"union catalog {len(indexed.tools)} tools, {len(zh)} requests, "
          f"{time.perf_counter() - started:.0f} s; glossing p50 "
          f"{statistics.median(timings):.2f} ms, max {max(timings):.2f} ms", file=sys.stderr)
    if translating:
        chinese_only = [ms for ms, item in zip(translation_ms, zh, strict=True)
                        if not item["mixed"]]
        print(f"translation (1 thread) p50 {statistics.median(translation_ms):.0f} ms, p99 "
              f"{percentile(translation_ms, 99):.0f} ms, max {max(translation_ms):.0f} ms; "
              f"Chinese-only p50 {statistics.median(chinese_only):.0f} ms, p99 "
              f"{percentile(chinese_only, 99):.0f} ms", file=sys.stderr)
    print("| requests | method | " + " | ".join(runs) + " |")
    print("|---|---|" + "---|" * len(runs))
    for subset, keep in subsets.items():
        for method in METHODS:
            cells = []
            for run in runs:
                values = figures[run, method]
                means = [statistics.fmean(v for v, k in zip(values[m], keep, strict=True) if k)
                         for m in ("r@5", "r@10", "c@10")]
                cells.append(" / ".join(f"{mean:.3f}" for mean in means))
            print(f"| {subset} ({sum(keep)}) | {method} | " + " | ".join(cells) + " |")
    return 0


def timed(function, text: str) -> float:
    """Milliseconds *function* takes on *text*."""
    begun = time.perf_counter()
    function(text)
    return (time.perf_counter() - begun) * 1000


if __name__ == "__main__":
    sys.exit(main())
