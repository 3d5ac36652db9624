"""Abstention evaluation built from labelled requests: ask each request again without its tools.

A request whose gold tools are denied (`ToolFilter(deny=gold)`, the same ranking as removing
them from the catalog, bar BM25 document frequencies) has no fitting tool, so a good router
abstains on it and not on the original. `calibrate_threshold` picks ``abstain_below`` on dev
requests; `abstention_report` measures it on held-out ones.

Example:
    threshold = calibrate_threshold(router, dev_texts, dev_gold, target=0.8)
    report = abstention_report(router, test_texts, test_gold, threshold)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from toolnav.route import Router, ToolFilter

__all__ = ["AbstentionReport", "abstention_report", "calibrate_threshold", "fit_scores"]


@dataclass(frozen=True)
class AbstentionReport:
    """How a threshold splits requests with and without a fitting tool."""

    threshold: float
    abstained_without_gold: float  # share of gold-removed requests abstained on (want high)
    abstained_normal: float        # share of normal requests abstained on (want low)
    recall_drop: float             # recall@k lost on normal requests by abstaining


def fit_scores(router: Router, texts: Sequence[str], gold: Sequence[Sequence[str]],
               k: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best scores of each request as is and without its gold tools, and its recall@k.

    Returns:
        (normal best scores, gold-removed best scores, recall@k of the normal ranking).
    """
    normal = router.route_batch(list(texts), k=k)
    removed = [router.route(text, k=1, filters=ToolFilter(deny=frozenset(names)))
               for text, names in zip(texts, gold, strict=True)]
    recall = [len({c.tool.name for c in result.candidates} & set(names)) / len(set(names))
              for result, names in zip(normal, gold, strict=True)]
    return (np.array([r.best_score for r in normal]), np.array([r.best_score for r in removed]),
            np.array(recall))


def calibrate_threshold(router: Router, texts: Sequence[str], gold: Sequence[Sequence[str]],
                        target: float = 0.8) -> float:
    """The ``abstain_below`` that abstains on *target* of the gold-removed dev requests."""
    _, removed, _ = fit_scores(router, texts, gold)
    return float(np.quantile(removed, target))


def abstention_report(router: Router, texts: Sequence[str], gold: Sequence[Sequence[str]],
                      threshold: float, k: int = 5) -> AbstentionReport:
    """Measure *threshold* on (held-out) requests: abstention with and without gold tools."""
    normal, removed, recall = fit_scores(router, texts, gold, k)
    abstain = normal < threshold
    return AbstentionReport(threshold, float(np.mean(removed < threshold)),
                            float(np.mean(abstain)), float(recall[abstain].sum() / len(recall)))
