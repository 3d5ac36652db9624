"""Train the request table (`toolnav.embed.request_table`) from a transformer (the teacher).

The table starts from the teacher's vector for each token on its own, and each token's weight
from its inverse document frequency over the tool texts. Training then minimises the cosine
distance between the table's summed vector of a text and the teacher's vector of the same text
(distillation, which teaches words the requests never use) over the tool texts, any further
label-free texts (`distil`, e.g. sentences of the tool descriptions) and, when there are
labelled requests, the requests and their sub-intent spans, plus, for those requests, the
cross-entropy of their gold tools among all the catalog's tool vectors (the routing task
itself). Without requests it needs no labels at all (`toolnav.tuning.label_free`).

Example:
    table = train_request_table(teacher, tool_texts, tool_vectors, requests, spans, gold)
    save_table(table, model_dir / TABLE_FILE)
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence

import numpy as np

from toolnav._atomic import replaced_file
from toolnav.embed.base import Span
from toolnav.embed.local import MiniLMEmbedder, load_tokenizer
from toolnav.errors import EmbeddingError
from toolnav.progress import Progress, no_progress
from toolnav.tuning.model import TEMPERATURE

__all__ = ["train_request_table"]

EPOCHS = 5
BATCH_SIZE = 128
LEARNING_RATE = 3e-3
REQUEST_REPEATS = 3  # requests are seen this many times per epoch, every other text once
RANKING_WEIGHT = 0.3  # of the gold-tool cross-entropy against the distillation loss
SEED = 0
_INIT_BATCH = 1024
_DISTIL_BATCH = 512  # distillation texts embedded per progress report
_UNSAFE = re.compile(r"[^\w.@+-]+")  # what a model id may not keep in a file name


def train_request_table(teacher: MiniLMEmbedder, tool_texts: Sequence[str],
                        tool_vectors: np.ndarray, requests: Sequence[str] = (),
                        spans: Sequence[Sequence[Span]] = (), gold: Sequence[Sequence[int]] = (),
                        *, distil: Sequence[str] = (), epochs: int = EPOCHS,
                        progress: Progress = no_progress) -> np.ndarray:
    """A (vocabulary, dim) request table distilled from *teacher* (see the module docstring).

    Args:
        teacher: the transformer with ``request_encoder="fp32"``; its vectors are the
            distillation targets.
        tool_texts: `embedding_text` of every catalog tool.
        tool_vectors: the teacher's vectors of *tool_texts*, (len(tool_texts), dim).
        requests: labelled requests (none for a label-free table).
        spans: per request, its sub-intent spans (`toolnav.route.intent_spans`).
        gold: per request, the positions in *tool_texts* of its gold tools.
        distil: further texts to distil, with no ranking term (label-free pseudo-requests).
        epochs: passes over the texts.
        progress: called as ``progress(stage, done, total)`` through the single-token pass,
            the embedding of *distil* and every training step (the stage names the loss).

    Raises:
        EmbeddingError: the inputs disagree in length, there are no tool texts, or the
            teacher does not embed requests with the fp32 transformer.
    """
    if teacher.request_encoder != "fp32":
        raise EmbeddingError(f"the teacher embeds requests with {teacher.request_encoder}; "
                             "pass MiniLMEmbedder(model_dir=..., request_encoder=\"fp32\")")
    if len(tool_texts) != len(tool_vectors) or not len(tool_texts):
        raise EmbeddingError(f"{len(tool_texts)} tool texts but {len(tool_vectors)} vectors: "
                             "need one vector per tool text, and at least one tool")
    if not (len(requests) == len(spans) == len(gold)):
        raise EmbeddingError(f"{len(requests)} requests, {len(spans)} span lists and "
                             f"{len(gold)} gold lists: need the same number")
    import torch

    torch.manual_seed(SEED)
    tokenizer = load_tokenizer(teacher.model_dir)
    texts: list[list[int]] = [_token_ids(encoding) for encoding in
                              tokenizer.encode_batch([*tool_texts, *distil])]
    targets = [*tool_vectors, *_embed_distilled(teacher, distil, progress)]
    ranked: dict[int, Sequence[int]] = {}  # text number -> gold tool positions
    for encoding, text_spans, vectors, tools in zip(
            tokenizer.encode_batch(list(requests)), spans,
            teacher.embed_spans(requests, spans), gold, strict=True):
        for _ in range(REQUEST_REPEATS):
            ranked[len(texts)] = tools
            texts.append(_token_ids(encoding))
            targets.append(vectors[0])
        for (start, end), vector in zip(text_spans, vectors[1:], strict=True):
            texts.append(_token_ids(encoding, start, end))
            targets.append(vector)
    vocabulary = tokenizer.get_vocab_size()
    tokens = torch.nn.Embedding.from_pretrained(
        torch.from_numpy(_single_token_vectors(teacher, tokenizer, progress)), freeze=False)
    weights = torch.nn.Embedding.from_pretrained(
        torch.from_numpy(_idf(texts[:len(tool_texts)], vocabulary)[:, None]), freeze=False)
    optimiser = torch.optim.Adam([tokens.weight, weights.weight], lr=LEARNING_RATE)
    all_tools = torch.from_numpy(np.ascontiguousarray(tool_vectors, dtype=np.float32))
    target_matrix = torch.from_numpy(np.stack(targets).astype(np.float32))
    order = [i for i, ids in enumerate(texts) if ids]
    shuffler = random.Random(SEED)
    steps, step = epochs * math.ceil(len(order) / BATCH_SIZE), 0
    for _ in range(epochs):
        shuffler.shuffle(order)
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start:start + BATCH_SIZE]
            flat = torch.tensor([token for i in batch for token in texts[i]])
            offsets = torch.tensor(np.cumsum([0] + [len(texts[i]) for i in batch[:-1]]))
            pooled = torch.nn.functional.embedding_bag(
                flat, tokens.weight, offsets, mode="sum",
                per_sample_weights=torch.relu(weights(flat)[:, 0]))
            vectors = torch.nn.functional.normalize(pooled, dim=-1)
            loss = (1 - (vectors * target_matrix[batch]).sum(1)).mean()
            rows = [row for row, i in enumerate(batch) if i in ranked]
            if rows:
                log_p = torch.log_softmax(vectors[rows] @ all_tools.T / TEMPERATURE, dim=1)
                loss = loss + RANKING_WEIGHT * torch.stack(
                    [-log_p[r, list(ranked[batch[row]])].mean() for r, row in enumerate(rows)]
                ).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step += 1
            progress(f"training the request table (loss {loss.item():.3f})", step, steps)
    with torch.no_grad():
        return (tokens.weight * torch.relu(weights.weight)).numpy()


def _token_ids(encoding, start: int = 0, end: int | None = None) -> list[int]:
    """The ids of the real tokens of *encoding* overlapping characters [start, end)."""
    end = math.inf if end is None else end
    return [token for token, (first, last) in zip(encoding.ids, encoding.offsets, strict=True)
            if last > first and first < end and last > start]


def _embed_distilled(teacher: MiniLMEmbedder, texts: Sequence[str], progress: Progress
                     ) -> np.ndarray:
    """The teacher's vectors of *texts* (its tool path, as the tool vectors), in chunks so the
    progress moves."""
    stage = f"request table: embedding {len(texts)} distillation texts"
    chunks = []
    for start in range(0, len(texts), _DISTIL_BATCH):
        progress(stage, start, len(texts))
        chunks.append(teacher.embed(texts[start:start + _DISTIL_BATCH]))
    progress(stage, len(texts), len(texts))
    return np.concatenate(chunks) if chunks else np.zeros((0, teacher.dim), np.float32)


def _single_token_vectors(teacher: MiniLMEmbedder, tokenizer, progress: Progress
                          ) -> np.ndarray:
    """The teacher's mean token state for each vocabulary entry alone, ([CLS] t [SEP]), on
    torch (fp32 unless the CPU has native bfloat16: `toolnav.embed._torch`). They depend on
    the weights only, so they are kept in the teacher's cache directory under its model id."""
    from toolnav.embed._torch import TorchEncoder

    vocabulary = tokenizer.get_vocab_size()
    stage = f"request table: the model's vector of each of {vocabulary} tokens alone"
    cached = teacher.cache_dir / f"{_UNSAFE.sub('-', teacher.model_id)}-tokens.npy"
    try:
        vectors = np.load(cached, allow_pickle=False)
        if vectors.shape == (vocabulary, teacher.dim) and np.isfinite(vectors).all():
            progress(stage, vocabulary, vocabulary)
            return vectors.astype(np.float32)
    except (OSError, ValueError):
        pass  # not there yet, or unreadable: computed again below
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    encoder = TorchEncoder(teacher.model_dir)
    vectors = np.zeros((vocabulary, teacher.dim), dtype=np.float32)
    for start in range(0, vocabulary, _INIT_BATCH):
        progress(stage, start, vocabulary)
        ids = np.arange(start, min(vocabulary, start + _INIT_BATCH))
        batch = np.stack([np.full_like(ids, cls), ids, np.full_like(ids, sep)], axis=1)
        vectors[ids] = encoder.encode(batch, np.ones_like(batch)).mean(axis=1)
    progress(stage, vocabulary, vocabulary)
    with replaced_file(cached) as staging:
        np.save(staging, vectors, allow_pickle=False)
    return vectors


def _idf(texts: Sequence[list[int]], vocabulary: int) -> np.ndarray:
    """log((n + 1) / (df + 1)) of every token over *texts*, float32."""
    frequency = np.zeros(vocabulary)
    for ids in texts:
        frequency[list(set(ids))] += 1
    return np.log((len(texts) + 1) / (frequency + 1)).astype(np.float32)
