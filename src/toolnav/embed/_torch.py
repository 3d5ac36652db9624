"""torch path for large batches (indexing, the request table's start): bfloat16 where the CPU
multiplies it in hardware, twice fp32's throughput on AVX-512 BF16; fp32 elsewhere, where
emulated bfloat16 is an order of magnitude slower.

bfloat16 matrix products keep every embedding within cosine 0.9999 of the fp32 reference. torch's
thread count is the process's (set once at the entry point, `toolnav.runtime.configure_process`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

__all__ = ["TorchEncoder", "native_bfloat16"]


@functools.cache
def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX-512 BF16 or AMX): there torch's
    bfloat16 path doubles bulk throughput; elsewhere bfloat16 is emulated and ran ~10x slower
    than fp32 ONNX Runtime (0.5 against 5 texts/s on an AVX2-only EPYC)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:  # not Linux: no cheap way to know, and ONNX is never slow
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class TorchEncoder:
    """Token states from the model's weights (pooled by the caller), in bfloat16 where the CPU
    has it natively (`native_bfloat16`), else fp32."""

    def __init__(self, model_dir: Path):
        import torch
        from transformers import BertModel

        from toolnav.embed._pooling import TokenStatesEncoder, quiet_load

        encoder = quiet_load(BertModel, model_dir, attn_implementation="sdpa",
                             dtype=torch.bfloat16 if native_bfloat16() else torch.float32)
        self._torch = torch
        self._model = TokenStatesEncoder(encoder).eval()

    def encode(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """(batch, tokens, dim) float32 token states for padded token ids and their mask."""
        with self._torch.inference_mode():
            states = self._model(self._torch.from_numpy(input_ids),
                                  self._torch.from_numpy(attention_mask))
        return states.numpy()
