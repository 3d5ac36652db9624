"""Symmetric int8 codes of float32 vectors with one scale per dimension.

A code times its dimension's scale approximates the component, so <query * scale, code>
approximates <query, vector>. The graph walk compares against codes (a quarter of the bytes
of float32 rows); the pool it returns is re-ranked exactly.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit_scale", "quantize"]

LEVELS = 127


def fit_scale(vectors: np.ndarray) -> np.ndarray:
    """Per-dimension scale mapping the largest absolute component to ±127."""
    largest = np.abs(vectors).max(axis=0) if len(vectors) else np.ones(vectors.shape[1])
    return (np.maximum(largest, 1e-6) / LEVELS).astype(np.float32)


def quantize(vectors: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Contiguous int8 codes; components beyond the fitted range are clipped."""
    codes = np.rint(vectors / scale)
    return np.ascontiguousarray(np.clip(codes, -LEVELS, LEVELS), dtype=np.int8)
