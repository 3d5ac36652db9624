"""The sentence-transformers head of all-MiniLM-L6-v2 as a torch module, and quiet loading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

__all__ = ["MeanPooledEncoder", "quiet_load"]


def quiet_load(model_class: Any, model_dir: Path, **options: Any) -> torch.nn.Module:
    """Load local weights with transformers, without its progress bars and notices."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    return model_class.from_pretrained(str(model_dir), local_files_only=True, **options)


class MeanPooledEncoder(torch.nn.Module):
    """BERT encoder followed by attention-masked mean pooling and L2 normalisation."""

    def __init__(self, encoder: torch.nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(torch.float32)
        pooled = (hidden.to(torch.float32) * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)
