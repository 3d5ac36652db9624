"""Abstention evaluation built from labelled requests: ask each request again without its tools.

A request whose gold tools are denied (`ToolFilter(deny=gold)`, the same ranking as removing
them from the catalog, bar BM25 document frequencies) has no fitting tool, so a good router
abstains on it and not on the original. The score abstained on is the request's lift
(`toolnav.route.RouteResult.lift`). `calibrate_threshold` picks ``abstain_lift_below`` on dev
requests; `abstention_report` measures it on held-out ones; `evaluate_abstention` does both for
labelled datasets (`toolnav eval --abstention`).

Example:
    threshold = calibrate_threshold(router, dev_texts, dev_gold, target=0.8)
    report = abstention_report(router, test_texts, test_gold, threshold)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolnav.config import RouteParams
from toolnav.embed import Embedder
from toolnav.errors import SourceError
from toolnav.evaluation.evaluate import tuning_mask, union_catalog
from toolnav.progress import Progress, no_progress
from toolnav.route import Router, ToolFilter

__all__ = ["AbstentionReport", "abstention_report", "calibrate_threshold",
           "evaluate_abstention", "fit_scores"]


@dataclass(frozen=True)
class AbstentionReport:
    """How a threshold splits requests with and without a fitting tool."""

    threshold: float
    abstained_without_gold: float  # share of gold-removed requests abstained on (want high)
    abstained_normal: float        # share of normal requests abstained on (want low)
    recall_drop: float             # recall@k lost on normal requests by abstaining
    separation: float              # P(lift with gold > without gold): ROC AUC
    requests: int


def fit_scores(router: Router, texts: Sequence[str], gold: Sequence[Sequence[str]],
               k: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lift of each request as is and without its gold tools, and its recall@k.

    Returns:
        (normal lifts, gold-removed lifts, recall@k of the normal ranking).
    """
    normal = router.route_batch(list(texts), k=k)
    removed = [router.route(text, k=1, filters=ToolFilter(deny=frozenset(names)))
               for text, names in zip(texts, gold, strict=True)]
    recall = [len({c.tool.name for c in result.candidates} & set(names)) / len(set(names))
              for result, names in zip(normal, gold, strict=True)]
    return np.array([r.lift for r in normal]), np.array([r.lift for r in removed]), np.array(recall)


def calibrate_threshold(router: Router, texts: Sequence[str], gold: Sequence[Sequence[str]],
                        target: float = 0.8) -> float:
    """The ``abstain_lift_below`` that abstains on *target* of the gold-removed dev requests."""
    _, removed, _ = fit_scores(router, texts, gold)
    return float(np.quantile(removed, target))


def abstention_report(router: Router, texts: Sequence[str], gold: Sequence[Sequence[str]],
                      threshold: float, k: int = 5) -> AbstentionReport:
    """Measure *threshold* on (held-out) requests: abstention with and without gold tools."""
    normal, removed, recall = fit_scores(router, texts, gold, k)
    abstain = normal < threshold
    higher = normal[:, None] - removed[None, :]
    separation = float(np.mean(higher > 0) + 0.5 * np.mean(higher == 0))
    return AbstentionReport(threshold, float(np.mean(removed < threshold)),
                            float(np.mean(abstain)), float(recall[abstain].sum() / len(recall)),
                            separation, len(texts))


def evaluate_abstention(directories: Sequence[Path], *, home: Path, target: float = 0.8,
                        embedder: Embedder | None = None,
                        progress: Progress = no_progress
                        ) -> tuple[float, dict[str, AbstentionReport]]:
    """One threshold calibrated on the tuning split of all datasets together (abstain on
    *target* of its gold-removed requests), then measured per dataset on held-out requests.

    Returns:
        (threshold, report per dataset name).

    Raises:
        SourceError: a dataset is missing or malformed, or no request is in the tuning split.
    """
    with union_catalog(directories, home=home, embedder=embedder, progress=progress
                       ) as (toolnav, sets):
        router = toolnav.router(RouteParams())
        tuning = [(labelled.queries[i].text, labelled.gold[i]) for labelled in sets
                  for i, chosen in enumerate(tuning_mask(labelled.queries)) if chosen]
        if not tuning:
            raise SourceError("no request is in the tuning split (split \"train\" or \"dev\", "
                              "or an even crc32 of the id), so there is nothing to calibrate on")
        progress("calibrating on the tuning split", 0, len(sets) + 1)
        threshold = calibrate_threshold(router, *zip(*tuning, strict=True), target=target)
        reports = {}
        for done, labelled in enumerate(sets, start=1):
            progress(f"measuring {labelled.name}", done, len(sets) + 1)
            rows = [i for i, chosen in enumerate(tuning_mask(labelled.queries)) if not chosen]
            if rows:
                reports[labelled.name] = abstention_report(
                    router, [labelled.queries[i].text for i in rows],
                    [labelled.gold[i] for i in rows], threshold)
        progress("done", len(sets) + 1, len(sets) + 1)
    return threshold, reports
