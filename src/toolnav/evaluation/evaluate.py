"""Retrieval evaluation: datasets in the shared format, ranking metrics, a recall@k plot.

A dataset directory holds ``tools.jsonl`` and ``queries.jsonl`` (``{"id", "query", "tools"}``
per line). Several datasets are evaluated over the union of their catalogs, each request
against its own gold tools. Routing itself is `toolnav.route`'s job.

Example:
    report = evaluate_datasets([Path("data/seal_tools")], home=Path(".toolnav"), ks=(1, 5, 10))
    print(report.rows[0].metrics["recall@5"])
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from toolnav.catalog.sources import source_name_for
from toolnav.catalog.sources.openai_json import parse_json_lines, read_text
from toolnav.config import RouteParams, Settings
from toolnav.embed import Embedder, load_default_embedder
from toolnav.errors import SourceError
from toolnav.progress import Progress, no_progress
from toolnav.runtime import EMBEDDING_CACHE_FILE, Toolnav

__all__ = [
    "EvalReport",
    "EvalRow",
    "LabelledSet",
    "Query",
    "complete_at_k",
    "evaluate_datasets",
    "load_queries",
    "mrr",
    "ndcg_at_k",
    "plot_recall_curves",
    "recall_at_k",
    "score_rankings",
    "tuning_mask",
    "union_catalog",
]

METHODS = ("bm25", "dense", "hybrid")
CURVE_DEPTH = 20


@dataclass(frozen=True)
class Query:
    """One labelled request: its text and the names of the tools it needs."""

    id: str
    text: str
    gold: tuple[str, ...]
    split: str = ""


@dataclass(frozen=True)
class LabelledSet:
    """One dataset's requests and, per request, its gold tools' names in the catalog."""

    name: str
    queries: list[Query]
    gold: list[tuple[str, ...]]


@dataclass(frozen=True)
class EvalRow:
    """Metrics of one method on one dataset."""

    dataset: str
    method: str
    queries: int
    catalog_size: int
    metrics: dict[str, float]
    recall_curve: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class EvalReport:
    """All rows of one evaluation run."""

    rows: list[EvalRow]
    ks: tuple[int, ...]


def recall_at_k(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Share of gold tools among the top k."""
    return len(set(ranked[:k]) & set(gold)) / len(set(gold))


def complete_at_k(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """1.0 when every gold tool is in the top k, else 0.0."""
    return float(set(gold) <= set(ranked[:k]))


def ndcg_at_k(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Normalised discounted cumulative gain with binary relevance."""
    gold_set = set(gold)
    dcg = sum(1.0 / math.log2(rank + 2) for rank, name in enumerate(ranked[:k]) if name in gold_set)
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(k, len(gold_set))))
    return dcg / ideal


def mrr(ranked: Sequence[str], gold: Sequence[str]) -> float:
    """Reciprocal rank of the first gold tool in the ranked list (0 if absent)."""
    gold_set = set(gold)
    return next((1.0 / (rank + 1) for rank, name in enumerate(ranked) if name in gold_set), 0.0)


def load_queries(directory: Path) -> list[Query]:
    """Read ``queries.jsonl`` of a dataset directory.

    Raises:
        SourceError: the file is missing or a line is malformed or has no gold tools.
    """
    path = directory / "queries.jsonl"
    queries = []
    for number, item in parse_json_lines(read_text(path), str(path)):
        where = f"{path}:{number}"
        if not isinstance(item, dict) or not isinstance(item.get("query"), str):
            raise SourceError(f"{where}: each line needs a string 'query'")
        gold = item.get("tools")
        if not isinstance(gold, list) or not gold or not all(isinstance(g, str) for g in gold):
            raise SourceError(f"{where}: 'tools' must be a non-empty list of tool names")
        queries.append(Query(str(item.get("id", number)), item["query"], tuple(gold),
                             str(item.get("split", ""))))
    return queries


def tuning_mask(queries: Sequence[Query]) -> list[bool]:
    """Which of one dataset's requests `toolnav tune` trains on: its ``train`` split where it
    has one, else its ``dev`` split where it has another split too, else the requests whose
    ``crc32(id)`` is even. `evaluate_datasets(held_out=True)` scores only the others."""
    splits = {query.split for query in queries}
    if "train" in splits:
        return [query.split == "train" for query in queries]
    if "dev" in splits and len(splits) > 1:
        return [query.split == "dev" for query in queries]
    return [zlib.crc32(query.id.encode()) % 2 == 0 for query in queries]


@contextmanager
def union_catalog(directories: Sequence[Path], *, home: Path, embedder: Embedder | None = None,
                  progress: Progress = no_progress
                  ) -> Iterator[tuple[Toolnav, list[LabelledSet]]]:
    """A runtime over the indexed catalog of all *directories*' tools (under ``home/eval/``,
    sharing the home's embedding cache and tuned model) and each dataset's requests with gold
    tools renamed as in the catalog.

    Raises:
        SourceError: a dataset is missing or malformed, or a gold tool is not in its catalog.
    """
    names = [source_name_for(directory) for directory in directories]
    settings = Settings(home=home / "eval" / "+".join(sorted(names)))
    with Toolnav.open(settings, embedder=embedder or load_default_embedder(home),
                      embedding_cache=home / EMBEDDING_CACHE_FILE) as toolnav:
        for directory, name in zip(directories, names, strict=True):
            toolnav.catalog.add_source(directory, name=name)
        toolnav.index(progress)
        name_of = {(entry.tool.source, entry.original_name): entry.tool.name
                   for entry in toolnav.catalog.entries()}
        sets = []
        for directory, name in zip(directories, names, strict=True):
            queries = load_queries(directory)
            sets.append(LabelledSet(name, queries,
                                    [_catalog_names(query, name, name_of) for query in queries]))
        yield toolnav, sets


def evaluate_datasets(directories: Sequence[Path], *, home: Path, ks: Sequence[int] = (1, 5, 10),
                      methods: Sequence[str] = METHODS, embedder: Embedder | None = None,
                      held_out: bool = False,
                      progress: Progress = no_progress) -> EvalReport:
    """Evaluate each dataset's requests over the union catalog of all *directories*.

    Args:
        directories: dataset folders (tools.jsonl + queries.jsonl).
        home: toolnav home; evaluation catalogs live under ``home/eval/`` and share its
            embedding cache, so repeated runs embed nothing new.
        ks: cut-offs for recall, complete, NDCG.
        methods: routing methods to compare (see `toolnav.route.Router.route`).
        embedder: embedding model (default: the home's tuned model, else the bundled one).
        held_out: score only the requests `toolnav tune` does not train on.
        progress: called as ``progress(stage, done, total)`` while indexing.

    Raises:
        SourceError: a dataset is missing or malformed, or a gold tool is not in its catalog.
    """
    depth = max(max(ks), CURVE_DEPTH)
    rows = []
    with union_catalog(directories, home=home, embedder=embedder, progress=progress) as (
            toolnav, sets):
        router = toolnav.router(RouteParams())
        catalog_size = len(toolnav.catalog)
        for labelled in sets:
            keep = [i for i, tuning in enumerate(tuning_mask(labelled.queries))
                    if not (held_out and tuning)]
            texts = [labelled.queries[i].text for i in keep]
            gold = [labelled.gold[i] for i in keep]
            for method in methods:
                results = router.route_batch(texts, k=depth, method=method)
                ranked = [[c.tool.name for c in result.candidates] for result in results]
                rows.append(score_rankings(labelled.name, method, ranked, gold, ks, catalog_size))
    return EvalReport(rows, tuple(ks))


def plot_recall_curves(report: EvalReport, path: Path) -> None:
    """Write a PNG with recall@k for k = 1..20, one panel per dataset, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(row.dataset for row in report.rows))
    figure, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 4.2),
                                squeeze=False)
    for axis, dataset in zip(axes[0], datasets, strict=True):
        for row in (r for r in report.rows if r.dataset == dataset):
            ks = range(1, len(row.recall_curve) + 1)
            axis.plot(ks, row.recall_curve, marker="o", markersize=3, label=row.method)
        axis.set(title=f"{dataset} ({row.catalog_size} tools in catalog)", xlabel="k",
                 ylabel="recall@k", ylim=(0, 1), xticks=range(0, CURVE_DEPTH + 1, 2))
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _catalog_names(query: Query, source: str, name_of: dict[tuple[str, str], str]
                   ) -> tuple[str, ...]:
    try:
        return tuple(name_of[(source, name)] for name in query.gold)
    except KeyError as error:
        raise SourceError(f"request {query.id} of {source}: gold tool {error.args[0][1]!r} is "
                          "not in the dataset's tools.jsonl") from None


def score_rankings(dataset: str, method: str, ranked: Sequence[Sequence[str]],
                   gold: Sequence[Sequence[str]], ks: Sequence[int], catalog_size: int
                   ) -> EvalRow:
    """Mean metrics of *ranked* lists (best first, at least ``CURVE_DEPTH`` deep for a full
    recall curve) against each request's *gold* tools."""
    count = len(ranked)

    def mean(metric: Callable[[Sequence[str], Sequence[str]], float]) -> float:
        return sum(metric(r, g) for r, g in zip(ranked, gold, strict=True)) / count

    metrics: dict[str, float] = {}
    for k in ks:
        metrics[f"recall@{k}"] = mean(lambda r, g, k=k: recall_at_k(r, g, k))
        metrics[f"complete@{k}"] = mean(lambda r, g, k=k: complete_at_k(r, g, k))
        metrics[f"ndcg@{k}"] = mean(lambda r, g, k=k: ndcg_at_k(r, g, k))
    metrics["mrr"] = mean(mrr)
    curve = [mean(lambda r, g, k=k: recall_at_k(r, g, k)) for k in range(1, CURVE_DEPTH + 1)]
    return EvalRow(dataset, method, count, catalog_size, metrics, curve)
