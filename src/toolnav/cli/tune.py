"""`toolnav tune`: fine-tune the embedding model (and its request table) on labelled requests,
or, with ``--label-free``, train only a request table for the bundled model from the catalog."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from toolnav.cli._common import (
    MixOption,
    console,
    open_runtime,
    progress,
    require_tools,
    state,
)
from toolnav.errors import ConfigError, EmbeddingError

__all__ = ["tune"]


def tune(
    datasets: Annotated[list[Path] | None, typer.Argument(help=(
        "Dataset folders (tools.jsonl + queries.jsonl) whose tuning split to train on; with "
        "--label-free, whose tools alone to distil on."),
        show_default=False)] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help=(
        "Passes over the pairs (default 2), or with --label-free over the catalog's texts "
        "(default 5)."), show_default=False)] = None,
    learning_rate: Annotated[float, typer.Option(
        min=1e-7, help="AdamW peak rate (the model).")] = 3e-5,
    batch_size: Annotated[int, typer.Option(min=2, help="Pairs per step (the model).")] = 32,
    mix: MixOption = 1.0,
    label_free: Annotated[bool, typer.Option("--label-free", help=(
        "Needs no labelled requests: train only a request table for the bundled model, "
        "distilled on the catalog's own texts (the home's catalog, or the named datasets' "
        "union catalog); requests are then embedded without the transformer."))] = False,
    reset: Annotated[bool, typer.Option(
        "--reset", help="Delete the tuned model or request table; go back to the bundled model."
    )] = False,
) -> None:
    """Fine-tune the embedding model on labelled requests; this home then routes with it.

    Trains on each dataset's tuning split (split "train", else "dev" beside another split,
    else the even crc32(id) half; see `tuning_mask`); `toolnav eval --held-out` scores the
    rest. With --label-free, trains only a request table, from no requests at all.
    """
    from toolnav.embed import TUNED_MODEL_DIR
    from toolnav.tuning.examples import train_table, tuning_examples
    from toolnav.tuning.model import tune_model

    target = state.settings.home / TUNED_MODEL_DIR
    if reset:
        if label_free:
            raise ConfigError("--reset and --label-free exclude each other: --reset removes "
                              "any request table, --label-free trains one")
        shutil.rmtree(target, ignore_errors=True)
        console.print("tuned model and request table removed; routing uses the bundled model")
        _reembed("bundled")
        return
    if label_free:
        if mix != 1:
            raise ConfigError("--mix averages fine-tuned model weights; --label-free trains "
                              "no model, only a request table: drop one of them")
        _tune_label_free(datasets or [], target, epochs)
        return
    if not datasets:
        raise ConfigError("name at least one dataset folder to tune on, pass --label-free to "
                          "train a request table without labels, or pass --reset")
    with progress() as update:
        examples = tuning_examples(datasets, home=state.settings.home, progress=update)
        report = tune_model(examples, target, epochs=epochs or 2, learning_rate=learning_rate,
                            batch_size=batch_size, mix=mix,
                            progress=lambda step, total, loss: update(
                                f"tuning (loss {loss:.3f})", step, total))
    console.print(f"tuned on {report.examples} request-tool pairs, {report.steps} steps in "
                  f"{report.seconds:.0f} s (loss {report.first_loss:.3f} → "
                  f"{report.last_loss:.3f}); saved to {target}")
    with progress() as update:
        table = train_table(datasets, examples, home=state.settings.home, model_dir=target,
                            progress=update)
    console.print(f"request table trained: requests are embedded without the transformer "
                  f"({table})")
    _reembed("tuned")


def _tune_label_free(datasets: list[Path], target: Path, epochs: int | None) -> None:
    """Train the label-free request table on the home's catalog, or on *datasets*' union."""
    from toolnav.embed import tuned_model_dir
    from toolnav.evaluation.evaluate import union_catalog
    from toolnav.tuning.label_free import write_label_free_table
    from toolnav.tuning.table import EPOCHS

    home = state.settings.home
    if tuned_model_dir(home):
        raise EmbeddingError(f"{target} holds a model tuned on labelled requests, with its own "
                             "request table; run `toolnav tune --reset` first to replace it "
                             "with a label-free table for the bundled model")
    with progress() as update:
        if datasets:
            with union_catalog(datasets, home=home, progress=update) as (toolnav, _):
                report = write_label_free_table(toolnav, target, epochs=epochs or EPOCHS,
                                                progress=update)
        else:
            with open_runtime() as toolnav:
                require_tools(toolnav)
                report = write_label_free_table(toolnav, target, epochs=epochs or EPOCHS,
                                                progress=update)
    console.print(f"label-free request table trained on {report.tool_texts} tool texts and "
                  f"{report.pseudo_requests} pseudo-requests in {report.seconds:.0f} s (no "
                  f"labelled requests); saved to {report.path}. Requests are now embedded "
                  "without the transformer (TOOLNAV_REQUEST_ENCODER=int8 goes back to it); "
                  "tools keep the bundled model's vectors")


def _reembed(model: str) -> None:
    """Bring the home's catalog onto the model it now routes with (the cache serves repeats)."""
    with open_runtime() as toolnav:
        if len(toolnav.catalog):
            with progress() as update:
                result = toolnav.index(update)
            console.print(f"catalog re-embedded with the {model} model: {result.tools} tools")
