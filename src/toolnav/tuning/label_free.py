"""A label-free request table: distilled from the bundled model on a catalog's own texts.

`toolnav tune --label-free` needs no labelled requests. The request table
(`toolnav.embed.request_table`) learns to reproduce the bundled transformer's vectors of the
catalog's tool texts and of pseudo-requests cut from them (`pseudo_requests`), so any home can
embed requests without the transformer. The tools' vectors stay the transformer's: the index and
the embedding cache are untouched. The table goes into ``home/model/`` without weights
(`write_label_free_table`), where `toolnav.embed.label_free_table` finds it; training itself is
`toolnav.tuning.table`'s.

Example:
    with Toolnav.open(home) as toolnav:
        report = write_label_free_table(toolnav, home / TUNED_MODEL_DIR)
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from toolnav._atomic import replaced_directory
from toolnav.embed import MiniLMEmbedder
from toolnav.embed.request_table import TABLE_FILE, save_table
from toolnav.errors import EmbeddingError
from toolnav.progress import Progress, no_progress
from toolnav.runtime import Toolnav
from toolnav.tool import Tool, embedding_text
from toolnav.tuning.table import EPOCHS, train_request_table

__all__ = ["INFO_FILE", "LabelFreeReport", "pseudo_requests", "write_label_free_table"]

# Beside the table: what it was distilled on (for people; nothing reads it back).
INFO_FILE = "request-table.json"
MIN_WORDS = 3  # shorter description sentences are fragments ("e.g.", "v2.")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class LabelFreeReport:
    """What `write_label_free_table` did.

    Attributes:
        path: the table written.
        tool_texts: catalog tools distilled on.
        pseudo_requests: pseudo-requests distilled on besides.
        seconds: wall time of the whole run.
    """

    path: Path
    tool_texts: int
    pseudo_requests: int
    seconds: float


def pseudo_requests(tools: Iterable[Tool]) -> list[str]:
    """Short request-like texts cut from the tools' own records, each once: every
    description sentence of at least `MIN_WORDS` words. (Adding each tool's name as words
    changed recall@5 on the five shared sets by under 0.01 each: docs/benchmarks.md.)

    Example:
        pseudo_requests([Tool("get_weather", "Current weather. Needs a city name.")])
        # -> ["Needs a city name."]  ("Current weather." is too short)
    """
    texts: dict[str, None] = {}
    for tool in tools:
        for sentence in _SENTENCE_END.split(tool.description.strip()):
            if len(sentence.split()) >= MIN_WORDS:
                texts[sentence.strip()] = None
    return list(texts)


def write_label_free_table(toolnav: Toolnav, target: Path, *, epochs: int = EPOCHS,
                           progress: Progress = no_progress) -> LabelFreeReport:
    """Distil a request table for the bundled model from *toolnav*'s catalog (indexing it
    first if it is stale) and write it into *target*, replacing what was there.

    Args:
        toolnav: a runtime whose catalog is embedded by the bundled model.
        target: the home's model directory (``home / TUNED_MODEL_DIR``).
        epochs: passes over the texts.
        progress: called as ``progress(stage, done, total)``.

    Raises:
        EmbeddingError: the catalog is embedded by another (tuned) model, or is empty.
    """
    started = time.perf_counter()
    teacher = MiniLMEmbedder(request_encoder="fp32")
    if toolnav.embedder.model_id != teacher.model_id:
        raise EmbeddingError(f"the catalog is embedded by {toolnav.embedder.model_id}, but a "
                             f"label-free request table is for the bundled model "
                             f"{teacher.model_id}; run `toolnav tune --reset` first")
    if not len(toolnav.catalog):
        raise EmbeddingError("the catalog has no tools to distil the request table on; add "
                             "some (`toolnav catalog add ...`) or name dataset folders")
    indexed = toolnav.maintainer.snapshot(progress)
    pseudo = pseudo_requests(indexed.tools)
    table = train_request_table(teacher, [embedding_text(tool) for tool in indexed.tools],
                                indexed.vectors, distil=pseudo, epochs=epochs,
                                progress=progress)
    with replaced_directory(target) as staging:
        save_table(table, staging / TABLE_FILE)
        (staging / INFO_FILE).write_text(json.dumps({
            "teacher": teacher.model_id, "labels": "none", "tool_texts": len(indexed.tools),
            "pseudo_requests": len(pseudo), "epochs": epochs,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=1))
    return LabelFreeReport(Path(target) / TABLE_FILE, len(indexed.tools), len(pseudo),
                           time.perf_counter() - started)
