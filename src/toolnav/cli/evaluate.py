"""`toolnav eval`: routing quality on labelled datasets, and abstention calibration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from toolnav.cli._common import (
    MixOption,
    console,
    error_console,
    progress,
    split_list,
    state,
)
from toolnav.errors import BackendUnavailable, ConfigError

if TYPE_CHECKING:  # the model code loads when eval runs, not with every command
    from toolnav.embed import MiniLMEmbedder

__all__ = ["evaluate"]


def evaluate(
    datasets: Annotated[list[Path], typer.Argument(help=(
        "Dataset folders (tools.jsonl + queries.jsonl); several are scored over the union of "
        "their catalogs."), show_default=False)],
    k: Annotated[str, typer.Option("--k", help="Comma-separated cut-offs.")] = "1,5,10",
    methods: Annotated[str, typer.Option("--methods", help="Comma-separated methods.")] = (
        "bm25,dense,hybrid"),
    plot: Annotated[Path | None, typer.Option("--plot", help="Write recall@k PNG here.")] = None,
    held_out: Annotated[bool, typer.Option(
        "--held-out", help="Score only requests `toolnav tune` does not train on.")] = False,
    abstention: Annotated[bool, typer.Option("--abstention", help=(
        "Instead: calibrate abstain_lift_below on the tuning split with each request's gold tools "
        "removed, then measure it on the held-out requests."))] = False,
    abstention_target: Annotated[float, typer.Option(
        min=0.01, max=0.99, help="Share of gold-removed tuning requests to abstain on."
    )] = 0.8,
    leave_one_out: Annotated[bool, typer.Option("--leave-one-out", help=(
        "Instead: for each dataset, tune on the tuning split of the others and score its "
        "held-out requests (hybrid), beside the untuned and in-set figures, with cross-source "
        "abstention at a threshold chosen on the others."))] = False,
    tuner: Annotated[str, typer.Option(help=(
        "What --leave-one-out tunes: 'params' (fusion weight and group pull), 'adapter' (a "
        "linear map on request vectors), 'model' (fine-tunes the encoder per fold and embeds "
        "the catalog again), 'request-model' (fine-tunes only the request side against the "
        "catalog's vectors) or 'none'. Fold models are kept under HOME/eval/models."
    ))] = "params",
    mix: MixOption = 1.0,
    sample: Annotated[int | None, typer.Option(min=1, help=(
        "With --leave-one-out: at most this many tuning and held-out requests per dataset."
    ))] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Score routing on labelled requests: recall@k, complete@k, NDCG@k, MRR."""
    from toolnav.embed import tuned_model_dir
    from toolnav.evaluation.evaluate import evaluate_datasets, plot_recall_curves

    if abstention:
        if plot or held_out or leave_one_out:
            raise ConfigError("--abstention always calibrates on the tuning split and reports "
                              "the held-out requests; drop --plot, --held-out and --leave-one-out")
        _evaluate_abstention(datasets, abstention_target, as_json, _eval_embedder())
        return
    if plot:
        _require_matplotlib()
    if leave_one_out:
        if held_out:
            raise ConfigError("--leave-one-out always scores held-out requests; drop --held-out")
        _evaluate_leave_one_out(datasets, tuner, mix, sample, plot, as_json, _eval_embedder())
        return
    ks = _parse_ks(k)
    if not held_out and tuned_model_dir(state.settings.home):
        error_console.print("note: this home routes with a tuned model; requests it trained on "
                            "score too well; pass --held-out for an unbiased figure")
    with progress() as update:
        report = evaluate_datasets(datasets, home=state.settings.home, ks=ks,
                                   embedder=_eval_embedder(),
                                   methods=split_list(methods), held_out=held_out,
                                   progress=update)
    if plot:
        plot_recall_curves(report, plot)
        error_console.print(f"plot written to {plot}")
    if as_json:
        print(json.dumps([row.__dict__ for row in report.rows], indent=2))
        return
    for dataset in dict.fromkeys(row.dataset for row in report.rows):
        rows = [row for row in report.rows if row.dataset == dataset]
        table = Table("metric", *(row.method for row in rows),
                      title=f"{dataset}: {rows[0].queries} requests, {rows[0].catalog_size} "
                            "tools in the catalog")
        for metric in rows[0].metrics:
            table.add_row(metric, *(f"{row.metrics[metric]:.3f}" for row in rows))
        console.print(table)


def _require_matplotlib() -> None:
    """Refuse --plot before any work when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise BackendUnavailable("--plot needs matplotlib: pip install 'toolnav[plot]'"
                                 ) from None


def _eval_embedder() -> MiniLMEmbedder:
    """The home's model as routing uses it; says which request encoder that is."""
    from toolnav.embed import load_default_embedder

    settings = state.settings
    embedder = load_default_embedder(settings.home, request_encoder=settings.request_encoder,
                                     threads=settings.threads, cache_dir=settings.cache_dir)
    error_console.print(f"requests are embedded by the {embedder.request_encoder} request "
                        "encoder (TOOLNAV_REQUEST_ENCODER=table|int8|fp32 chooses)")
    return embedder


def _evaluate_abstention(datasets: list[Path], target: float, as_json: bool,
                         embedder: MiniLMEmbedder) -> None:
    from toolnav.evaluation.abstention import evaluate_abstention

    with progress() as update:
        threshold, reports = evaluate_abstention(datasets, home=state.settings.home,
                                                 embedder=embedder,
                                                 target=target, progress=update)
    if as_json:
        print(json.dumps({"threshold": threshold,
                          "held_out": {name: report.__dict__ for name, report in
                                       reports.items()}}, indent=2))
        return
    table = Table("held-out set", "requests", "abstained, gold removed", "abstained, normal",
                  "recall@5 lost", "separation (AUC)",
                  title=f"abstain_lift_below = {threshold:.3f} (abstains on {target:.0%} of the "
                        "gold-removed tuning requests)")
    for name, report in reports.items():
        table.add_row(name, str(report.requests), f"{report.abstained_without_gold:.1%}",
                      f"{report.abstained_normal:.1%}", f"{report.recall_drop:.3f}",
                      f"{report.separation:.3f}")
    console.print(table)
    console.print(f"use it: TOOLNAV_ABSTAIN_LIFT_BELOW={threshold:.3f}")


def _evaluate_leave_one_out(datasets: list[Path], tuner_name: str, mix: float,
                            sample: int | None, plot: Path | None, as_json: bool,
                            embedder: MiniLMEmbedder) -> None:
    from toolnav.evaluation.leave_one_out import (
        FOLD_COLUMNS,
        ParamsTuner,
        UntunedTuner,
        leave_one_out,
        plot_leave_one_out,
    )
    from toolnav.tuning.adapter import AdapterTuner
    from toolnav.tuning.fold_model import ModelTuner

    home = state.settings.home
    tuners = {"params": ParamsTuner, "adapter": AdapterTuner, "none": UntunedTuner,
              "model": ModelTuner, "request-model": ModelTuner}
    if tuner_name not in tuners:
        raise ConfigError(f"--tuner {tuner_name!r}: choose one of {', '.join(tuners)}")
    if mix != 1 and tuners[tuner_name] is not ModelTuner:
        raise ConfigError(f"--mix averages fine-tuned weights; --tuner {tuner_name} trains no "
                          "model: use --tuner model or request-model, or drop --mix")
    with progress() as update:
        tuner = (ModelTuner(models_dir=home / "eval" / "models",
                            tools="tuned" if tuner_name == "model" else "frozen",
                            threads=embedder.threads,
                            request_encoder="fp32" if embedder.request_encoder == "fp32"
                            else "int8", mix=mix, progress=update,
                            name=tuner_name if mix == 1 else f"{tuner_name} (mix {mix:g})")
                 if tuners[tuner_name] is ModelTuner else tuners[tuner_name]())
        report = leave_one_out(datasets, home=home, tuner=tuner, embedder=embedder,
                               sample=sample, progress=update)
    if plot:
        plot_leave_one_out(report, plot)
        error_console.print(f"plot written to {plot}")
    if as_json:
        print(json.dumps({"tuner": report.tuner, "max_recall_drop": report.max_recall_drop,
                          "rows": [row.__dict__ for row in report.rows]}, indent=2))
        return
    for row in report.rows:
        table = Table("metric", *FOLD_COLUMNS,
                      title=f"{row.dataset}: {row.queries} held-out requests, "
                            f"{row.catalog_size} tools; cross-source catalog: "
                            f"{row.disjoint_catalog}")
        for metric in row.columns["untuned"]:
            table.add_row(metric, *(f"{row.columns[column][metric]:.3f}"
                                    for column in FOLD_COLUMNS))
        table.add_row("abstain_lift_below", *(f"{row.thresholds[column]:.3f}"
                                              for column in FOLD_COLUMNS))
        table.add_row("dense weight / group pull", *(
            f"{row.settings[column]['dense_weight']:.2f} / "
            f"{row.settings[column]['group_pull']:.2f}" for column in FOLD_COLUMNS))
        console.print(table)
    console.print(f"tuner: {report.tuner}; in-set: tuned on every dataset's tuning split; "
                  "left-out: tuned on the others only; abstain_lift_below: the highest lift "
                  f"losing at most {report.max_recall_drop} recall@5 on each tuning set")


def _parse_ks(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(int(part) for part in split_list(text))
    except ValueError:
        raise ConfigError(f"--k {text!r}: expected comma-separated integers like 1,5,10"
                          ) from None
    if not ks or min(ks) < 1:
        raise ConfigError(f"--k {text!r}: cut-offs must be positive integers")
    return ks
