"""Vector indexes behind one protocol: exact (flat) and the NSG graph index."""

from toolnav.index.base import VectorIndex

__all__ = ["VectorIndex"]
