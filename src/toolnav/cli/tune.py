"""`toolnav tune`: fine-tune the embedding model (and its request table) on labelled requests."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from toolnav.cli._common import console, open_runtime, progress, state
from toolnav.errors import ConfigError

__all__ = ["tune"]


def tune(
    datasets: Annotated[list[Path] | None, typer.Argument(help=(
        "Dataset folders (tools.jsonl + queries.jsonl) whose tuning split to train on."),
        show_default=False)] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the pairs.")] = 2,
    learning_rate: Annotated[float, typer.Option(min=1e-7, help="AdamW peak rate.")] = 3e-5,
    batch_size: Annotated[int, typer.Option(min=2, help="Pairs per step.")] = 32,
    reset: Annotated[bool, typer.Option(
        "--reset", help="Delete the tuned model; go back to the bundled one.")] = False,
) -> None:
    """Fine-tune the embedding model on labelled requests; this home then routes with it.

    Trains on each dataset's tuning split (split "train", else "dev" beside another split,
    else the even crc32(id) half; see `tuning_mask`); `toolnav eval --held-out` scores the
    rest.
    """
    from toolnav.embed import TUNED_MODEL_DIR
    from toolnav.tuning.examples import train_table, tuning_examples
    from toolnav.tuning.model import tune_model

    target = state.settings.home / TUNED_MODEL_DIR
    if reset:
        shutil.rmtree(target, ignore_errors=True)
        console.print("tuned model removed; routing uses the bundled model")
        _reembed("bundled")
        return
    if not datasets:
        raise ConfigError("name at least one dataset folder to tune on, or pass --reset")
    with progress() as update:
        examples = tuning_examples(datasets, home=state.settings.home, progress=update)
        report = tune_model(examples, target, epochs=epochs, learning_rate=learning_rate,
                            batch_size=batch_size,
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


def _reembed(model: str) -> None:
    """Bring the home's catalog onto the model it now routes with (the cache serves repeats)."""
    with open_runtime() as toolnav:
        if len(toolnav.catalog):
            with progress() as update:
                result = toolnav.index(update)
            console.print(f"catalog re-embedded with the {model} model: {result.tools} tools")
