"""Cross-source abstention: the request's lift (what the router abstains on) beside the best
cosine (the criterion before it), under the leave-one-set-out protocol of `toolnav eval
--leave-one-out` (same splits, same sample, same threshold rule, same disjoint catalogs).

For each signal and each fold, one threshold is chosen on the other sets' tuning requests (the
highest whose recall@5 loss is at most 0.02 on each) and measured on the left-out set's
held-out requests: the share abstained on when asked against a domain-disjoint source's catalog
alone, and the recall@5 lost on its normal requests. "train" is the same measure on the fold's
own tuning sets (mean over folds): what a signal is chosen by, never the reported set.
The "all five" threshold is chosen on every set's tuning requests (the protocol's untuned
column). Figures go to docs/benchmarks.md.

Usage:
    OMP_NUM_THREADS=1 PYTHONPATH=src:. python bench/abstention.py --home H [--sample 300]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from toolnav.config import RouteParams
from toolnav.embed import RequestMemo
from toolnav.evaluation.evaluate import recall_at_k, union_catalog
from toolnav.evaluation.leave_one_out import (
    ABSTENTION_K,
    DISJOINT_CATALOGS,
    _split,
    abstention_threshold,
)
from toolnav.route import Router, ToolFilter

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SETS = ("seal_tools", "toolbench", "metatool", "gorilla_apibench", "api_bank")
SIGNALS = {"best cosine (before)": "best_score", "lift (now)": "lift"}


def measure(router: Router, texts: list[str], gold: list, disjoint: str) -> dict:
    """Each request's signals routed normally and against *disjoint*'s catalog, and recall@5."""
    normal = router.route_batch(texts, k=ABSTENTION_K)
    foreign = router.route_batch(texts, k=1, filters=ToolFilter(sources=frozenset({disjoint})))
    return {
        "recall": np.array([recall_at_k([c.tool.name for c in r.candidates], g, ABSTENTION_K)
                            for r, g in zip(normal, gold, strict=True)]),
        **{f"normal {field}": np.array([getattr(r, field) for r in normal])
           for field in SIGNALS.values()},
        **{f"cross {field}": np.array([getattr(r, field) for r in foreign])
           for field in SIGNALS.values()},
    }


def score(held: dict, field: str, threshold: float) -> tuple[float, float]:
    """(share of cross-source requests abstained on, recall@5 lost on normal requests)."""
    lost = held["recall"][held[f"normal {field}"] < threshold].sum() / len(held["recall"])
    return float(np.mean(held[f"cross {field}"] < threshold)), float(lost)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sample", type=int, default=300)
    args = parser.parse_args()
    started = time.perf_counter()
    with union_catalog([args.data / name for name in SETS], home=args.home) as (toolnav, sets):
        router = Router(toolnav.maintainer.snapshot(), RequestMemo(toolnav.embedder),
                        RouteParams())
        tuning, held = {}, {}
        for labelled in sets:
            parts = _split(labelled, args.sample, 0)
            tuning[labelled.name], held[labelled.name] = (
                measure(router, part.texts, part.gold, DISJOINT_CATALOGS[labelled.name])
                for part in parts)
    print(f"union catalog {len(router._tools):,} tools; {time.perf_counter() - started:.0f} s")
    for label, field in SIGNALS.items():
        def chosen(names: list[str], field: str = field) -> float:
            return abstention_threshold([tuning[n][f"normal {field}"] for n in names],
                                        [tuning[n]["recall"] for n in names], 0.02)

        every = chosen(list(SETS))
        train = []
        print(f"\n{label}: threshold on all five {every:.3f}")
        print(f"{'set':18s} {'all five: abstained / lost':>28s} "
              f"{'left-out: abstained / lost / threshold':>40s}")
        for name in SETS:
            others = [other for other in SETS if other != name]
            threshold = chosen(others)
            train.append(np.mean([score(tuning[other], field, threshold)[0]
                                  for other in others]))
            in_all, out = score(held[name], field, every), score(held[name], field, threshold)
            print(f"{name:18s} {in_all[0]:>19.3f} / {in_all[1]:.3f} "
                  f"{out[0]:>25.3f} / {out[1]:.3f} / {threshold:.3f}")
        print(f"train (fold's own tuning sets, mean over folds): abstained cross-source "
              f"{np.mean(train):.3f}")


if __name__ == "__main__":
    main()
