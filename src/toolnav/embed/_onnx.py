"""ONNX Runtime path for small batches (queries): export once, fuse, cache, run.

The model is exported from the bundled weights with torch on first use, optimised with ONNX
Runtime's transformer fusions, and cached; later processes only load the cached file.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

__all__ = ["OnnxEncoder"]

OPSET = 17
HEADS = 12
HIDDEN = 384


class OnnxEncoder:
    """Mean-pooled, normalised sentence embeddings from a fused fp32 ONNX graph."""

    def __init__(self, model_dir: Path, cache_file: Path, threads: int):
        import onnxruntime

        if not _is_loadable(cache_file):
            _export(model_dir, cache_file)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = onnxruntime.InferenceSession(str(cache_file), options,
                                                     providers=["CPUExecutionProvider"])

    def encode(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """(batch, dim) unit vectors for padded token ids and their mask."""
        (vectors,) = self._session.run(None, {"input_ids": input_ids,
                                              "attention_mask": attention_mask})
        return vectors


def _is_loadable(path: Path) -> bool:
    if not path.is_file():
        return False
    import onnx

    try:
        onnx.checker.check_model(str(path))
    except Exception:  # a truncated or foreign file: export again
        return False
    return True


def _export(model_dir: Path, target: Path) -> None:
    """Export, fuse and atomically write the ONNX graph (a killed process leaves no file)."""
    import torch
    from onnxruntime.transformers import optimizer
    from transformers import BertModel

    from toolnav.embed._pooling import MeanPooledEncoder, quiet_load

    model = quiet_load(BertModel, model_dir, attn_implementation="eager").eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about constant shapes do not apply here
        raw = Path(scratch) / "raw.onnx"
        example = (torch.ones(2, 8, dtype=torch.long), torch.ones(2, 8, dtype=torch.long))
        axes = {"input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}}
        torch.onnx.export(MeanPooledEncoder(model), example, str(raw), opset_version=OPSET,
                          input_names=["input_ids", "attention_mask"],
                          output_names=["embedding"], dynamic_axes=axes, dynamo=False)
        fused = optimizer.optimize_model(str(raw), model_type="bert", num_heads=HEADS,
                                         hidden_size=HIDDEN, opt_level=1)
        staged = Path(scratch) / "fused.onnx"
        fused.save_model_to_file(str(staged))
        os.replace(staged, target)
