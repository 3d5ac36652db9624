"""A request encoder without a transformer: one learned vector per token, summed and normalised.

`toolnav tune` trains the table (`toolnav.tuning.table`) so that a request's summed
token vectors reproduce the tuned transformer's request vector and rank the request's gold tools
first among the catalog's tool vectors, which stay the transformer's; `toolnav tune
--label-free` trains one for the bundled model from the catalog's own texts alone
(`toolnav.tuning.label_free`). Embedding a request is
then a table lookup: 0.2–0.4 ms with tokenisation instead of the int8 transformer's ~8 ms,
which puts hybrid routing at 10k tools inside a 5 ms budget. The price is recall on long
multi-step requests: held-out hybrid recall@5 0.961 / 0.825 on Seal-Tools / ToolBench against
0.964 / 0.871 (docs/benchmarks.md; the label-free table: "A label-free request table").

The table stands in for the transformer's token states: the caller pools the rows of a text's
tokens exactly as it pools states, so spans (sub-intents) work unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from toolnav._atomic import replaced_file
from toolnav.errors import EmbeddingError

__all__ = ["TABLE_FILE", "TableEncoder", "save_table"]

# Beside the tuned weights in the model directory; its presence makes the table the default.
TABLE_FILE = "request-table.npy"


class TableEncoder:
    """Token vectors looked up from a (vocabulary, dim) table instead of a forward pass.

    Args:
        path: a table written by `save_table`.
        vocabulary: the tokenizer's vocabulary size (the table's row count).
        dim: the vector dimension.
        silent_ids: token ids whose rows are zero, so pooling ignores them ([CLS], [SEP],
            [PAD]).

    Raises:
        EmbeddingError: the file is unreadable, of the wrong shape or not finite.
    """

    def __init__(self, path: Path, vocabulary: int, dim: int, silent_ids: Iterable[int]):
        try:
            table = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise EmbeddingError(f"cannot read the request table {path}: {error}; run "
                                 "`toolnav tune` (or `toolnav tune --label-free`) again, or "
                                 "`toolnav tune --reset`") from None
        if table.shape != (vocabulary, dim) or not np.isfinite(table).all():
            raise EmbeddingError(f"request table {path} has shape {table.shape}, expected "
                                 f"({vocabulary}, {dim}) finite values; run `toolnav tune` "
                                 "(or `toolnav tune --label-free`) again")
        self._table = table.astype(np.float32)
        self._table[list(silent_ids)] = 0.0

    def encode(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """(batch, tokens, dim) float32 token vectors for padded token ids (the mask is
        applied by the caller's pooling)."""
        return self._table[input_ids]


def save_table(table: np.ndarray, path: Path) -> None:
    """Write *table* atomically to *path* as float16 (half the disk, same routing), scaled to
    a largest magnitude of 1: pooled vectors are normalised, so the scale is free."""
    largest = float(np.abs(table).max(initial=0.0))
    with replaced_file(path) as staging, open(staging, "wb") as out:  # a handle: no ".npy" added
        np.save(out, (table / max(largest, 1e-12)).astype(np.float16), allow_pickle=False)
