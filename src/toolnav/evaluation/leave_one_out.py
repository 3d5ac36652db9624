"""Leave-one-set-out evaluation: does what is tuned on some catalogs carry over to another?

For each dataset in turn, a `Tuner` fits the router on the tuning split (`tuning_mask`) of
the *other* datasets and the held-out requests of the left-out dataset are scored (hybrid,
over the union catalog of all datasets); the same requests are scored with the untuned router
and with the router tuned on every dataset's tuning split (the in-set figure), so the three
columns sit side by side. Each fold also picks one abstention threshold on its training sets
(the highest ``abstain_lift_below``, a threshold on `toolnav.route.RouteResult.lift`, whose
recall@5 loss is at most ``max_recall_drop`` on every one of them) and measures it on the
left-out set: the share of its requests abstained on when they are asked against the catalog
of a different, domain-disjoint source (`DISJOINT_CATALOGS`), and the recall@5 lost on its
normal requests. Tuners themselves (what is fitted) live with their
owners; `ParamsTuner` here only chooses `RouteParams` on the training sets.

Example:
    report = leave_one_out(directories, home=Path(".toolnav"), tuner=ParamsTuner(), sample=300)
    for row in report.rows:
        print(row.dataset, row.columns["left-out"]["recall@5"], row.columns["in-set"]["recall@5"])
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from toolnav.catalog import EmbeddingCache
from toolnav.config import RouteParams
from toolnav.embed import Embedder, RequestMemo
from toolnav.errors import ConfigError, SourceError
from toolnav.evaluation.evaluate import (
    CURVE_DEPTH,
    LabelledSet,
    recall_at_k,
    score_rankings,
    tuning_mask,
    union_catalog,
)
from toolnav.indexing import IndexedCatalog
from toolnav.progress import Progress, no_progress
from toolnav.route import Router, ToolFilter

__all__ = ["DISJOINT_CATALOGS", "FOLD_COLUMNS", "FoldRow", "LeaveOneOutReport", "ParamsTuner",
           "Requests", "Tuner", "TuningContext", "UntunedTuner", "abstention_threshold",
           "leave_one_out", "plot_leave_one_out"]

FOLD_COLUMNS = ("untuned", "in-set", "left-out")
KS = (1, 5, 10)
ABSTENTION_K = 5
# Request set -> the source whose catalog has no tool for it (domains that do not overlap:
# ML-model APIs, everyday personal APIs). Other sets are paired with the next set named.
DISJOINT_CATALOGS = {
    "seal_tools": "gorilla_apibench",
    "toolbench": "gorilla_apibench",
    "metatool": "api_bank",
    "gorilla_apibench": "api_bank",
    "api_bank": "gorilla_apibench",
}


@dataclass(frozen=True)
class Requests:
    """Some of one dataset's requests and their gold tools (catalog names)."""

    name: str
    texts: list[str]
    gold: list[tuple[str, ...]]


@dataclass(frozen=True)
class TuningContext:
    """What a tuner may use: the indexed union catalog, the embedder, a way to build routers
    over them, the training requests (tuning splits of the training datasets only), and the
    home's embedding cache (for a tuner that embeds the catalog again with its own model)."""

    indexed: IndexedCatalog
    embedder: Embedder
    training: list[Requests]
    cache: EmbeddingCache

    def router(self, params: RouteParams, embedder: Embedder | None = None) -> Router:
        """A router over the union catalog with *params* (and another request embedder)."""
        return Router(self.indexed, embedder or self.embedder, params)


class Tuner(Protocol):
    """Fits a router on training requests; must not look at any other request."""

    name: str

    def fit(self, context: TuningContext) -> Router:
        """The router tuned on ``context.training``."""
        ...


class UntunedTuner:
    """Fits nothing: the default router (the protocol's splits and abstention only)."""

    name = "none"

    def fit(self, context: TuningContext) -> Router:
        return context.router(RouteParams())


@dataclass
class ParamsTuner:
    """Chooses the hybrid dense weight and group pull that maximise the mean over training
    sets of recall@5 (each set counts once, whatever its size)."""

    dense_weights: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7)
    group_pulls: tuple[float, ...] = (0.7, 0.85, 1.0)
    name: str = "params"
    chosen: list[RouteParams] = field(default_factory=list)
    _recall: dict[tuple[str, RouteParams], float] = field(default_factory=dict)

    def fit(self, context: TuningContext) -> Router:
        best, best_recall = RouteParams(), -1.0
        for weight, pull in itertools.product(self.dense_weights, self.group_pulls):
            params = RouteParams(dense_weight=weight, group_pull=pull)
            router = context.router(params)
            recall = float(np.mean([self._set_recall(router, params, requests)
                                    for requests in context.training]))
            if recall > best_recall:
                best, best_recall = params, recall
        self.chosen.append(best)
        return context.router(best)

    def _set_recall(self, router: Router, params: RouteParams, requests: Requests) -> float:
        """Mean recall@5 of one training set (the same set scores the same in every fold)."""
        key = (requests.name, params)
        if key not in self._recall:
            self._recall[key] = float(np.mean(
                [recall_at_k(ranked, gold, ABSTENTION_K)
                 for ranked, gold in zip(_rankings(router, requests.texts, ABSTENTION_K),
                                         requests.gold, strict=True)]))
        return self._recall[key]


@dataclass(frozen=True)
class FoldRow:
    """One dataset's held-out requests under the untuned, in-set and left-out routers
    (`FOLD_COLUMNS`).

    ``columns`` maps each column to metric names (recall@1/5/10, complete@10, NDCG@5, MRR,
    and, at that column's threshold, ``abstained cross-source``, ``abstained normal`` and
    ``recall@5 lost``) and values; ``curves`` holds recall@k for k = 1..20 per column;
    ``thresholds`` the ``abstain_lift_below`` each column chose on its tuning sets; ``settings``
    the fusion settings each column's router ended with.
    """

    dataset: str
    queries: int
    catalog_size: int
    disjoint_catalog: str
    columns: dict[str, dict[str, float]]
    curves: dict[str, list[float]]
    thresholds: dict[str, float]
    settings: dict[str, dict[str, float]]


@dataclass(frozen=True)
class LeaveOneOutReport:
    """Every dataset's fold, and what the tuner is."""

    tuner: str
    rows: list[FoldRow]
    max_recall_drop: float


def abstention_threshold(scores: Sequence[np.ndarray], recalls: Sequence[np.ndarray],
                         max_drop: float) -> float:
    """The highest threshold on an abstention score whose recall loss (recall of the requests
    it abstains on, over all requests) is at most *max_drop* on every set.

    Args:
        scores: per set, each request's abstention score (its lift).
        recalls: per set, each request's recall@k when routed normally.
        max_drop: the recall a set may lose.
    """
    candidates = np.unique(np.concatenate(scores))
    chosen = float(candidates[0]) if len(candidates) else 0.0
    for threshold in candidates:  # the loss only grows with the threshold
        if any(recall[best < threshold].sum() / max(len(recall), 1) > max_drop
               for best, recall in zip(scores, recalls, strict=True)):
            break
        chosen = float(threshold)
    return chosen


def leave_one_out(directories: Sequence[Path], *, home: Path, tuner: Tuner,
                  embedder: Embedder | None = None, sample: int | None = None,
                  max_recall_drop: float = 0.02, disjoint: dict[str, str] | None = None,
                  seed: int = 0, progress: Progress = no_progress) -> LeaveOneOutReport:
    """Score every dataset with a router tuned without it, beside the in-set figures.

    Args:
        directories: at least two dataset folders; the catalog is the union of all of them.
        home: toolnav home (its embedding cache and model; catalogs under ``home/eval/``).
        tuner: what is fitted on the training sets of each fold.
        embedder: embedding model (default: the home's).
        sample: at most this many requests per dataset and role (tuning, held-out), drawn
            with *seed*; None takes them all.
        max_recall_drop: recall@5 a training set may lose to the abstention threshold.
        disjoint: request set -> source whose catalog has no tool for it (default
            `DISJOINT_CATALOGS`, else the next dataset named).
        progress: called as ``progress(stage, done, total)``.

    Raises:
        ConfigError: fewer than two datasets, or a disjoint catalog that is not among them.
        SourceError: a dataset is missing or malformed, or has no tuning or no held-out
            request.
    """
    if len(directories) < 2:
        raise ConfigError("leave-one-set-out needs at least two datasets, one to leave out and "
                          "one to tune on")
    with union_catalog(directories, home=home, embedder=embedder, progress=progress
                       ) as (toolnav, sets):
        names = [labelled.name for labelled in sets]
        pairs = _disjoint_pairs(names, disjoint)
        request_embedder = RequestMemo(toolnav.embedder)
        indexed = toolnav.maintainer.snapshot()
        tuning, held_out = {}, {}
        for labelled in sets:
            tuning[labelled.name], held_out[labelled.name] = _split(labelled, sample, seed)
            if not tuning[labelled.name].texts or not held_out[labelled.name].texts:
                raise SourceError(f"{labelled.name}: leave-one-set-out needs requests both in "
                                  "its tuning split and outside it (see `tuning_mask`); give "
                                  "it a train/test split or requests without a split")
        total, done = len(sets) + 2, 0

        def fitted(training: list[str]) -> tuple[Router, float]:
            nonlocal done
            progress(f"tuning on {', '.join(training)}", done, total)
            router = tuner.fit(TuningContext(indexed, request_embedder,
                                             [tuning[name] for name in training],
                                             toolnav.maintainer.cache))
            done += 1
            fits = [_fit_scores(router, tuning[name]) for name in training]
            return router, abstention_threshold([best for best, _ in fits],
                                                [recall for _, recall in fits],
                                                max_recall_drop)

        base = Router(indexed, request_embedder, RouteParams())
        base_threshold = abstention_threshold(*zip(*[_fit_scores(base, tuning[name])
                                                     for name in names], strict=True),
                                              max_recall_drop)
        in_set, in_threshold = fitted(names)
        rows = []
        for name in names:
            left_out, out_threshold = fitted([other for other in names if other != name])
            requests = held_out[name]
            columns, curves = {}, {}
            thresholds = dict(zip(FOLD_COLUMNS, (base_threshold, in_threshold, out_threshold),
                                  strict=True))
            for column, router in zip(FOLD_COLUMNS, (base, in_set, left_out), strict=True):
                columns[column] = _fold_metrics(router, requests, thresholds[column],
                                                pairs[name], len(indexed.tools))
                curves[column] = columns[column].pop("curve")
            settings = {column: {"dense_weight": router.dense_weight,
                                 "group_pull": router.params.group_pull}
                        for column, router in zip(FOLD_COLUMNS, (base, in_set, left_out),
                                                  strict=True)}
            rows.append(FoldRow(name, len(requests.texts), len(indexed.tools), pairs[name],
                                columns, curves, thresholds, settings))
        progress("done", total, total)
    return LeaveOneOutReport(tuner.name, rows, max_recall_drop)


def plot_leave_one_out(report: LeaveOneOutReport, path: Path) -> None:
    """Write a PNG with hybrid recall@k (k = 1..20) per dataset: untuned, in-set, left-out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(report.rows), figsize=(4.6 * len(report.rows), 4.0),
                                squeeze=False)
    for axis, row in zip(axes[0], report.rows, strict=True):
        for column, style in zip(FOLD_COLUMNS, (":", "-", "--"), strict=True):
            curve = row.curves[column]
            axis.plot(range(1, len(curve) + 1), curve, style, marker="o", markersize=2.5,
                      label=column)
        axis.set(title=f"{row.dataset} ({row.queries} requests)", xlabel="k",
                 ylabel="recall@k", ylim=(0, 1), xticks=range(0, CURVE_DEPTH + 1, 4))
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right")
    figure.suptitle(f"hybrid recall@k over the union catalog ({report.rows[0].catalog_size} "
                    f"tools); tuner: {report.tuner}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _disjoint_pairs(names: list[str], disjoint: dict[str, str] | None) -> dict[str, str]:
    pairs = {}
    for position, name in enumerate(names):
        following = names[(position + 1) % len(names)]
        if disjoint is None:
            other = DISJOINT_CATALOGS.get(name, following)
            other = other if other in names else following
        else:
            other = disjoint.get(name, following)
        if other not in names or other == name:
            raise ConfigError(f"the catalog for {name}'s cross-source requests must be another "
                              f"dataset of this run ({', '.join(names)}), got {other!r}")
        pairs[name] = other
    return pairs


def _split(labelled: LabelledSet, sample: int | None, seed: int) -> tuple[Requests, Requests]:
    """The dataset's tuning and held-out requests, each sampled down to *sample*."""
    mask = tuning_mask(labelled.queries)
    parts = []
    for wanted in (True, False):
        rows = [i for i, tuning in enumerate(mask) if tuning == wanted]
        if sample is not None and len(rows) > sample:
            rows = sorted(random.Random(f"{seed}:{labelled.name}:{wanted}").sample(rows, sample))
        parts.append(Requests(labelled.name, [labelled.queries[i].text for i in rows],
                              [labelled.gold[i] for i in rows]))
    return parts[0], parts[1]


def _rankings(router: Router, texts: list[str], k: int) -> list[list[str]]:
    return [[c.tool.name for c in result.candidates]
            for result in router.route_batch(texts, k=k)]


def _fit_scores(router: Router, requests: Requests) -> tuple[np.ndarray, np.ndarray]:
    """Each request's lift and recall@5 when routed normally."""
    results = router.route_batch(requests.texts, k=ABSTENTION_K)
    recall = [recall_at_k([c.tool.name for c in result.candidates], gold, ABSTENTION_K)
              for result, gold in zip(results, requests.gold, strict=True)]
    return np.array([r.lift for r in results]), np.array(recall)


def _fold_metrics(router: Router, requests: Requests, threshold: float, disjoint: str,
                  catalog_size: int) -> dict:
    results = router.route_batch(requests.texts, k=max(max(KS), CURVE_DEPTH))
    ranked = [[c.tool.name for c in result.candidates] for result in results]
    row = score_rankings(requests.name, "hybrid", ranked, requests.gold, KS, catalog_size)
    lift = np.array([result.lift for result in results])
    recall = np.array([recall_at_k(r, g, ABSTENTION_K)
                       for r, g in zip(ranked, requests.gold, strict=True)])
    foreign = router.route_batch(requests.texts, k=1,
                                 filters=ToolFilter(sources=frozenset({disjoint})))
    metrics = {key: row.metrics[key] for key in
               ("recall@1", "recall@5", "recall@10", "complete@10", "ndcg@5", "mrr")}
    metrics["abstained cross-source"] = float(np.mean([r.lift < threshold for r in foreign]))
    metrics["abstained normal"] = float(np.mean(lift < threshold))
    metrics[f"recall@{ABSTENTION_K} lost"] = float(recall[lift < threshold].sum() / len(recall))
    return {**metrics, "curve": row.recall_curve}


