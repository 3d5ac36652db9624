"""Fine-tune the bundled MiniLM on labelled (request, tool) pairs; save it for `MiniLMEmbedder`.

Contrastive training: each request should be nearer its gold tool's text than the other tools
in the batch and than one hard negative (a tool the current router ranks high but that is not
gold); batch entries gold for the same request are masked, not pushed away. Trained on the
Seal-Tools + ToolBench tuning split, held-out dense recall@5 rose from 0.62 to 0.84 and 0.70
to 0.80, hybrid by 0.011 and 0.018 (docs/benchmarks.md).

`tune_request_encoder` trains the same model on requests only: each request's gold tools must
win a softmax over them and its hard negatives, scored against the catalog's existing tool
vectors, which therefore need no new embedding (the model then serves as a request encoder
beside the base model's tool vectors).

The result is a directory with the weights, the tokenizer and ``toolnav-tuning.json``
(provenance and a digest of the weights, which becomes part of the embedder's model id so
tuned and bundled embeddings never mix in a cache).

Example:
    examples = [TuningExample("mail Bob the report", "send_email: Send an email ...")]
    report = tune_model(examples, Path(".toolnav/model"))
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolnav._atomic import replaced_directory
from toolnav.embed.local import TUNING_FILE, WEIGHTS_FILE, bundled_model_dir
from toolnav.errors import EmbeddingError

__all__ = ["RequestExample", "TuningExample", "TuningReport", "tune_model",
           "tune_request_encoder"]

TRAIN_TOKENS = 128  # requests and tool texts are cut here while training (not when embedding)
TEMPERATURE = 0.05  # logits are cosine / TEMPERATURE
WARMUP_SHARE = 0.1
SEED = 0


@dataclass(frozen=True)
class TuningExample:
    """One request and the text of one of its gold tools.

    Attributes:
        request: the user request.
        positive: `embedding_text` of a gold tool.
        other_gold: texts of the request's other gold tools (never used as negatives).
        negatives: texts of tools ranked high for the request that are not gold.
    """

    request: str
    positive: str
    other_gold: frozenset[str] = frozenset()
    negatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequestExample:
    """One request for `tune_request_encoder`: positions of its gold tools and of its hard
    negatives (tools ranked high for it that are not gold) among the catalog's vectors."""

    request: str
    gold: tuple[int, ...]
    negatives: tuple[int, ...]


@dataclass(frozen=True)
class TuningReport:
    """What `tune_model` did (the full provenance is in the model's TUNING_FILE)."""

    target: Path
    examples: int
    steps: int
    seconds: float
    first_loss: float
    last_loss: float
    weights_digest: str


def tune_model(examples: Sequence[TuningExample], target: Path, *, base: Path | None = None,
               epochs: int = 2, learning_rate: float = 3e-5, batch_size: int = 32,
               max_steps: int | None = None, train_tokens: int = TRAIN_TOKENS,
               mix: float = 1.0, progress: Callable[[int, int, float], None] | None = None
               ) -> TuningReport:
    """Train from *base* (default: the bundled model) and write the tuned model to *target*.

    The directory is written to a temporary sibling and swapped in, so an interrupted run
    leaves the previous model in place.

    Args:
        examples: training pairs (at least 2, so a batch has an in-batch negative).
        target: output directory (replaced).
        base: a model directory to start from.
        epochs, learning_rate, batch_size: optimiser settings (AdamW, linear warm-up and decay).
        max_steps: stop after this many optimiser steps (the schedule decays to them).
        train_tokens: requests and tool texts are cut at this many tokens while training.
        mix: weight-space ensembling (WiSE-FT): every weight ends as
            ``base + mix × (trained − base)``; 1.0 keeps the trained weights.
        progress: called as ``progress(step, total_steps, loss)`` after every step.

    Raises:
        EmbeddingError: too few examples, bad settings, or the base model cannot be loaded.
    """
    import torch

    def batch_loss(encode, batch: list[TuningExample], shuffler: random.Random):
        documents = [example.positive for example in batch] + [
            shuffler.choice(example.negatives) for example in batch if example.negatives]
        scores = encode([example.request for example in batch]) @ encode(documents).T
        same_gold = torch.tensor([[column != row and (document == example.positive
                                                      or document in example.other_gold)
                                   for column, document in enumerate(documents)]
                                  for row, example in enumerate(batch)])
        logits = (scores / TEMPERATURE).masked_fill(same_gold, -1e4)
        return torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))

    return _train(examples, target, batch_loss, what="request-tool pairs", base=base,
                  epochs=epochs, learning_rate=learning_rate, batch_size=batch_size,
                  max_steps=max_steps, train_tokens=train_tokens, mix=mix, progress=progress,
                  details={})


def tune_request_encoder(examples: Sequence[RequestExample], tool_vectors: np.ndarray,
                         target: Path, *, base: Path | None = None, epochs: int = 1,
                         learning_rate: float = 3e-5, batch_size: int = 32,
                         max_steps: int | None = None, train_tokens: int = TRAIN_TOKENS,
                         mix: float = 1.0,
                         progress: Callable[[int, int, float], None] | None = None
                         ) -> TuningReport:
    """Like `tune_model`, but only requests go through the model: each request's gold tools
    must win a softmax over them and its hard negatives, scored against *tool_vectors* (the
    base model's, left as they are), so the catalog needs no new embedding.

    Args:
        examples: requests with positions of gold tools and hard negatives in *tool_vectors*.
        tool_vectors: (tools, dim) unit vectors of the catalog, by the base model.
        target, base, epochs, learning_rate, batch_size, max_steps, train_tokens, mix,
            progress: as in `tune_model`.

    Raises:
        EmbeddingError: too few examples, a position outside *tool_vectors*, bad settings, or
            the base model cannot be loaded.
    """
    import torch

    if any(not example.gold or max(example.gold + example.negatives) >= len(tool_vectors)
           or min(example.gold + example.negatives) < 0 for example in examples):
        raise EmbeddingError(f"every request needs a gold tool, and every position must lie "
                             f"in the {len(tool_vectors)} tool vectors")
    tools = torch.from_numpy(np.ascontiguousarray(tool_vectors, dtype=np.float32))

    def batch_loss(encode, batch: list[RequestExample], shuffler: random.Random):
        width = max(len(example.gold) + len(example.negatives) for example in batch)
        candidates = torch.zeros(len(batch), width, dtype=torch.long)
        target = torch.zeros(len(batch), width)
        blocked = torch.ones(len(batch), width, dtype=torch.bool)
        for row, example in enumerate(batch):
            chosen = example.gold + example.negatives
            candidates[row, :len(chosen)] = torch.tensor(chosen)
            target[row, :len(example.gold)] = 1.0 / len(example.gold)
            blocked[row, :len(chosen)] = False
        scores = torch.einsum("rd,rcd->rc", encode([example.request for example in batch]),
                              tools[candidates])
        log_p = torch.log_softmax((scores / TEMPERATURE).masked_fill(blocked, -1e4), dim=1)
        return -(target * log_p).sum(1).mean()

    return _train(examples, target, batch_loss, what="requests", base=base, epochs=epochs,
                  learning_rate=learning_rate, batch_size=batch_size, max_steps=max_steps,
                  train_tokens=train_tokens, mix=mix, progress=progress,
                  details={"tools": "base model's vectors (requests only trained)"})


def _train(examples: Sequence, target: Path, batch_loss: Callable, *, what: str,
           base: Path | None,
           epochs: int, learning_rate: float, batch_size: int, max_steps: int | None,
           train_tokens: int, mix: float,
           progress: Callable[[int, int, float], None] | None, details: dict) -> TuningReport:
    """The optimiser loop both tuners share: *batch_loss(encode, batch, shuffler)* is the
    loss of one batch of *examples* (*what* names them in errors), ``encode(texts)`` the
    model's unit vectors."""
    if len(examples) < 2:
        raise EmbeddingError(f"tuning needs at least 2 {what}, got {len(examples)}")
    if (epochs < 1 or batch_size < 2 or not learning_rate > 0 or train_tokens < 8
            or (max_steps is not None and max_steps < 1) or not 0 < mix <= 1):
        raise EmbeddingError("epochs must be ≥ 1, batch_size ≥ 2, learning_rate > 0, "
                             "train_tokens ≥ 8, max_steps ≥ 1 and 0 < mix ≤ 1")
    import torch
    from tokenizers import Tokenizer
    from transformers import BertModel

    from toolnav.embed._pooling import quiet_load
    from toolnav.embed.local import native_bfloat16

    base = base or bundled_model_dir()
    torch.manual_seed(SEED)
    shuffler = random.Random(SEED)
    try:
        tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
        model = quiet_load(BertModel, base)
    except (OSError, ValueError) as error:
        raise EmbeddingError(f"cannot load the model to tune from {base}: {error}") from None
    tokenizer.enable_truncation(train_tokens)
    tokenizer.enable_padding()
    # bfloat16 autocast only where the CPU has it: emulated, a step ran ~12x slower than fp32.
    bfloat16 = native_bfloat16()

    def encode(texts: list[str]):
        batch = tokenizer.encode_batch(texts)
        ids = torch.tensor([item.ids for item in batch])
        mask = torch.tensor([item.attention_mask for item in batch])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            states = model(input_ids=ids, attention_mask=mask,
                           token_type_ids=torch.zeros_like(ids)).last_hidden_state
        weights = mask.unsqueeze(-1).float()
        pooled = (states.float() * weights).sum(1) / weights.sum(1)
        return torch.nn.functional.normalize(pooled, dim=-1)

    order = list(examples)
    steps = epochs * math.ceil(len(order) / batch_size)
    steps = min(steps, max_steps) if max_steps is not None else steps
    initial = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()
               if tensor.is_floating_point()} if mix < 1 else {}
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    warmup = max(1.0, WARMUP_SHARE * steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, 1 - step / steps))
    model.train()
    started, losses, step = time.perf_counter(), [], 0
    for _ in range(epochs):
        shuffler.shuffle(order)
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            if len(batch) < 2 or step >= steps:
                continue
            loss = batch_loss(encode, batch, shuffler)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            losses.append(loss.item())
            if progress:
                progress(step, steps, losses[-1])
    model.eval()
    _ensemble(model, initial, mix)
    details = {"base": str(base), "examples": len(examples), "epochs": epochs,
               "learning_rate": learning_rate, "batch_size": batch_size, "steps": step,
               "train_tokens": train_tokens, "mix": mix, "bfloat16": bfloat16,
               "temperature": TEMPERATURE,
               "first_loss": losses[0], "last_loss": losses[-1],
               "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **details}
    digest = _save(model, base, Path(target), details)
    return TuningReport(Path(target), len(examples), step, time.perf_counter() - started,
                        losses[0], losses[-1], digest)


def _ensemble(model, initial: dict, mix: float) -> None:
    """Move each weight in *initial* back towards it: ``initial + mix × (trained − initial)``
    (weight-space ensembling of the base and the fine-tuned model; Wortsman et al., WiSE-FT)."""
    import torch

    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name in initial:
                tensor.copy_(torch.lerp(initial[name], tensor, mix))


def _save(model, base: Path, target: Path, details: dict) -> str:
    """Write weights, tokenizer and provenance; the old model stays until all are written."""
    with replaced_directory(target) as staging:
        model.save_pretrained(staging)
        shutil.copy2(base / "tokenizer.json", staging / "tokenizer.json")
        digest = _weights_digest(staging)
        (staging / TUNING_FILE).write_text(json.dumps({**details, "weights_sha256": digest},
                                                      indent=1))
    return digest


def _weights_digest(model_dir: Path) -> str:
    """SHA-256 of the weights file (hex)."""
    digest = hashlib.sha256()
    with open(model_dir / WEIGHTS_FILE, "rb") as weights:
        for block in iter(lambda: weights.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
