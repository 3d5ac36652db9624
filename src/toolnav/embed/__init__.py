"""Embedders behind one protocol; the default is the bundled all-MiniLM-L6-v2."""

from toolnav.embed.base import Embedder

__all__ = ["Embedder"]
