"""The BERT encoder of all-MiniLM-L6-v2 as a torch module returning token states, and quiet
loading. Pooling happens in `toolnav.embed.local`, so one forward pass can serve a text and its
spans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

__all__ = ["TokenStatesEncoder", "quiet_load"]


def quiet_load(model_class: Any, model_dir: Path, **options: Any) -> torch.nn.Module:
    """Load local weights with transformers, without its progress bars and notices."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    return model_class.from_pretrained(str(model_dir), local_files_only=True, **options)


class TokenStatesEncoder(torch.nn.Module):
    """BERT encoder returning float32 last-layer token states (batch, tokens, hidden)."""

    def __init__(self, encoder: torch.nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
        return hidden.to(torch.float32)
