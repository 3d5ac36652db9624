"""ONNX Runtime graphs: export once, fuse, cache, run; optionally an int8 copy for requests.

The model is exported from its weights with torch on first use, optimised with ONNX Runtime's
transformer fusions, and cached; later processes only load the cached file. The int8 graph is
the fused one with dynamically quantised weights (per output channel): about half the forward
time, the same routing quality (docs/benchmarks.md), but not within cosine 0.99 of the
reference on every text, so it never embeds tools.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from toolnav._atomic import replaced_file

__all__ = ["CACHE_NAME", "INT8_CACHE_NAME", "OnnxEncoder", "cached_graph", "load_encoder"]

OPSET = 17
HEADS = 12
HIDDEN = 384
# The exported graph returns token states; the name changes whenever its outputs do.
CACHE_NAME = f"all-minilm-l6-v2-opset{OPSET}-states.onnx"
INT8_CACHE_NAME = f"all-minilm-l6-v2-opset{OPSET}-states-int8.onnx"


def cached_graph(model_dir: Path, cache_dir: Path, *, prefix: str = "", int8: bool = False
                 ) -> Path:
    """The cached graph of the model in *model_dir* (fp32 fused, or its int8 copy), exported
    or quantised first if it is missing or unreadable. *prefix* tells models apart."""
    if int8:
        quantised = cache_dir / f"{prefix}{INT8_CACHE_NAME}"
        if not _is_loadable(quantised):  # the fp32 graph is needed (and checked) only to make it
            _quantise(cached_graph(model_dir, cache_dir, prefix=prefix), quantised)
        return quantised
    fp32 = cache_dir / f"{prefix}{CACHE_NAME}"
    if not _is_loadable(fp32):
        _export(model_dir, fp32)
    return fp32


def load_encoder(model_dir: Path, cache_dir: Path, threads: int, *, prefix: str = "",
                 int8: bool = False) -> OnnxEncoder:
    """An encoder over the cached graph (`cached_graph`). A cached file is trusted as it is
    (importing the ``onnx`` package to check it costs over a second per process); one that
    ONNX Runtime cannot load is made again once."""
    from onnxruntime.capi.onnxruntime_pybind11_state import (
        Fail,
        InvalidArgument,
        InvalidGraph,
        InvalidProtobuf,
    )

    graph = cache_dir / f"{prefix}{INT8_CACHE_NAME if int8 else CACHE_NAME}"
    if graph.is_file():
        try:
            return OnnxEncoder(graph, threads)
        except (Fail, InvalidArgument, InvalidGraph, InvalidProtobuf):  # truncated or foreign
            graph.unlink(missing_ok=True)
    return OnnxEncoder(cached_graph(model_dir, cache_dir, prefix=prefix, int8=int8), threads)


class OnnxEncoder:
    """Token states from a cached ONNX graph (`cached_graph`), pooled by the caller."""

    def __init__(self, graph: Path, threads: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle workers sleep instead of spinning: on 2 shared cores a spinning pool starves the
        # BLAS and numba threads that run between embeddings (p99 after BLAS work 21 -> 10 ms).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = onnxruntime.InferenceSession(str(graph), options,
                                                     providers=["CPUExecutionProvider"])

    def encode(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """(batch, tokens, dim) float32 token states for padded token ids and their mask."""
        (states,) = self._session.run(None, {"input_ids": input_ids,
                                              "attention_mask": attention_mask})
        return states


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

    from toolnav.embed._pooling import TokenStatesEncoder, quiet_load

    model = quiet_load(BertModel, model_dir, attn_implementation="eager").eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about constant shapes do not apply here
        raw = Path(scratch) / "raw.onnx"
        example = (torch.ones(2, 8, dtype=torch.long), torch.ones(2, 8, dtype=torch.long))
        axes = {"input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"}, "states": {0: "batch", 1: "tokens"}}
        torch.onnx.export(TokenStatesEncoder(model), example, str(raw), opset_version=OPSET,
                          input_names=["input_ids", "attention_mask"],
                          output_names=["states"], dynamic_axes=axes, dynamo=False)
        fused = optimizer.optimize_model(str(raw), model_type="bert", num_heads=HEADS,
                                         hidden_size=HIDDEN, opt_level=1)
        with replaced_file(target) as staged:
            fused.save_model_to_file(str(staged))


def _quantise(source: Path, target: Path) -> None:
    """Dynamically quantise *source*'s weights to int8 per channel; write *target* atomically.

    ONNX Runtime writes a shape-inferred copy of its input beside it under a fixed name, then
    reads and deletes it: two processes quantising at once (a server's search processes on a
    fresh cache) would read each other's half-written copy. So it quantises a private link.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with (replaced_file(target) as staged,
          tempfile.TemporaryDirectory(dir=target.parent) as scratch):
        private = Path(scratch) / source.name
        try:
            os.link(source, private)
        except OSError:  # no hard links on this file system
            shutil.copyfile(source, private)
        root = logging.getLogger()
        root.addFilter(_drop_pre_processing_advice)
        try:
            quantize_dynamic(private, staged, weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        finally:
            root.removeFilter(_drop_pre_processing_advice)


def _drop_pre_processing_advice(record: logging.LogRecord) -> bool:
    """False for ONNX Runtime's root-logger advice to pre-process a graph before quantising
    it: the graph is already fused, the int8 result is measured against fp32, and the
    advice would reach users as a warning they cannot act on."""
    return "pre-processing before quantization" not in record.getMessage()
