"""Embedders behind one protocol; the default is the bundled all-MiniLM-L6-v2."""

from toolnav.embed.base import Embedder, embed_with_spans
from toolnav.embed.local import MiniLMEmbedder

__all__ = ["Embedder", "MiniLMEmbedder", "embed_with_spans", "load_default_embedder"]


def load_default_embedder() -> Embedder:
    """The bundled all-MiniLM-L6-v2 with default settings (model files load on first use)."""
    return MiniLMEmbedder()
