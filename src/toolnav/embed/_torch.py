"""torch path for large batches (indexing, the request table's start): bfloat16 where the CPU
multiplies it in hardware, twice fp32's throughput on AVX-512 BF16; fp32 elsewhere, where
emulated bfloat16 is an order of magnitude slower.

bfloat16 matrix products keep every embedding within cosine 0.9999 of the fp32 reference. torch's
thread count is the process's (set once at the entry point, `toolnav.runtime.configure_process`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["TorchEncoder"]


class TorchEncoder:
    """Token states from the model's weights (pooled by the caller), in bfloat16 where the CPU
    has it natively (`toolnav.embed.local.native_bfloat16`), else fp32."""

    def __init__(self, model_dir: Path):
        import torch
        from transformers import BertModel

        from toolnav.embed._pooling import TokenStatesEncoder, quiet_load
        from toolnav.embed.local import native_bfloat16

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
