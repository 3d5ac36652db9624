"""Training data for `toolnav tune` from labelled datasets (the tuning split only).

Each tuning request gives one example per gold tool; its hard negatives are the best-ranked
non-gold tools of the bundled model's hybrid routing over the union catalog, so tuning
always starts from the same place whatever model the home holds now. `train_table` then fits
the tuned model's request table on the same requests and the union catalog's tool texts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from toolnav.config import RouteParams
from toolnav.embed import MiniLMEmbedder
from toolnav.embed.request_table import TABLE_FILE, save_table
from toolnav.errors import EmbeddingError, SourceError
from toolnav.evaluation.evaluate import tuning_mask, union_catalog
from toolnav.progress import Progress, no_progress
from toolnav.tool import embedding_text
from toolnav.tuning.model import TuningExample

__all__ = ["NEGATIVE_DEPTH", "request_examples", "train_table", "tuning_examples"]

NEGATIVE_DEPTH = 30  # routed candidates searched for hard negatives
NEGATIVES = 5  # hard negatives kept per request


def tuning_examples(directories: Sequence[Path], *, home: Path,
                    progress: Progress = no_progress
                    ) -> list[TuningExample]:
    """(request, gold tool text, hard negatives) for every tuning request of the datasets.

    Raises:
        SourceError: a dataset is malformed, or no request falls in the tuning split.
    """
    examples = []
    with union_catalog(directories, home=home, embedder=MiniLMEmbedder(),
                       progress=progress) as (toolnav, sets):
        text_of = {entry.tool.name: embedding_text(entry.tool)
                   for entry in toolnav.catalog.entries()}
        router = toolnav.router(RouteParams())
        for labelled in sets:
            rows = [i for i, chosen in enumerate(tuning_mask(labelled.queries)) if chosen]
            progress(f"hard negatives for {labelled.name}", 0, len(rows))
            results = router.route_batch([labelled.queries[i].text for i in rows],
                                         k=NEGATIVE_DEPTH, method="hybrid")
            for row, result in zip(rows, results, strict=True):
                examples.extend(request_examples(labelled.queries[row].text, labelled.gold[row],
                                                 [c.tool.name for c in result.candidates],
                                                 text_of))
            progress(f"hard negatives for {labelled.name}", len(rows), len(rows))
    if not examples:
        raise SourceError("no request is in the tuning split (split \"train\" or \"dev\", "
                          "or an even crc32 of the id where a dataset has no splits)")
    return examples


def request_examples(request: str, gold: Sequence[str], ranked: Sequence[str],
                     text_of: Mapping[str, str]) -> list[TuningExample]:
    """One example per gold tool of *request*, its hard negatives the first `NEGATIVES`
    non-gold tools of *ranked* (tool names, best first); *text_of* maps a name to its
    `embedding_text`."""
    negatives = tuple(text_of[name] for name in ranked if name not in set(gold))[:NEGATIVES]
    gold_texts = frozenset(text_of[name] for name in gold)
    return [TuningExample(request, text, gold_texts - {text}, negatives)
            for text in sorted(gold_texts)]


def train_table(directories: Sequence[Path], examples: Sequence[TuningExample], *, home: Path,
                model_dir: Path, progress: Progress = no_progress
                ) -> Path:
    """Train the request table of the tuned model in *model_dir* on *examples* and the union
    catalog of *directories* (embedded by that model, into the home's cache); returns its path.

    Raises:
        SourceError: a dataset is malformed.
        EmbeddingError: the model cannot be loaded or no example's tool is in the catalog.
    """
    from toolnav.route import intent_spans
    from toolnav.tuning.table import train_request_table

    teacher = MiniLMEmbedder(model_dir=model_dir, request_encoder="fp32")
    with union_catalog(directories, home=home, embedder=teacher, progress=progress
                       ) as (toolnav, _):
        indexed = toolnav.maintainer.snapshot()
    tool_vectors = indexed.vectors
    tool_texts = [embedding_text(tool) for tool in indexed.tools]
    positions: dict[str, list[int]] = defaultdict(list)
    for position, text in enumerate(tool_texts):
        positions[text].append(position)
    gold: dict[str, set[int]] = defaultdict(set)
    for example in examples:
        for text in (example.positive, *example.other_gold):
            gold[example.request].update(positions.get(text, ()))
    requests = [request for request, tools in gold.items() if tools]
    if not requests:
        raise EmbeddingError("no tuning example's gold tool is in the datasets' catalog, so "
                             "there is nothing to train the request table on; pass the "
                             "dataset folders the examples came from")
    progress("request table: embedding the requests", 0, 1)
    table = train_request_table(
        teacher, tool_texts, tool_vectors, requests,
        [intent_spans(request) for request in requests],
        [sorted(gold[request]) for request in requests], progress=progress)
    save_table(table, model_dir / TABLE_FILE)
    return model_dir / TABLE_FILE
