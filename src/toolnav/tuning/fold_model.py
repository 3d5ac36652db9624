"""`ModelTuner`: the leave-one-set-out `Tuner` that fine-tunes the encoder on each fold.

For a fold's training sets it mines hard negatives with the untuned hybrid router over the
union catalog (the non-gold tools among each training request's first `NEGATIVE_DEPTH`), keeps
at most ``per_set`` examples of each set so every set weighs the same, and fine-tunes the
bundled MiniLM for a bounded number of steps. With ``tools="tuned"`` it trains on (request,
gold tool text) pairs (`tune_model`: in-batch plus hard negatives) and embeds the union catalog
again with the fold's model through the home's embedding cache (the model id carries the
weights' digest, so re-runs embed nothing); with ``tools="frozen"`` it trains the request side
only, against the catalog's existing vectors (`tune_request_encoder`), and embeds no tool. The
fold's router uses default `RouteParams` (so a tuned model's dense weight).
A fold model is kept under ``models_dir`` by a digest of its training pairs and settings, so a
second run of the same fold trains nothing either. Choosing what to train on (the protocol's
splits) and scoring are `toolnav.evaluation.leave_one_out`'s job.

Example:
    tuner = ModelTuner(models_dir=home / "eval" / "models", max_steps=100)
    report = leave_one_out(directories, home=home, tuner=tuner, sample=300)
    print([(run.trained_seconds, run.embedded) for run in tuner.runs])
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from toolnav.config import DEFAULT_THREADS, RouteParams
from toolnav.embed import Embedder, MiniLMEmbedder, RequestMemo
from toolnav.embed.local import MODEL_NAME, TUNING_FILE
from toolnav.errors import ConfigError
from toolnav.evaluation.leave_one_out import Requests, TuningContext
from toolnav.index import create_index, default_index_kind
from toolnav.indexing import tool_vectors
from toolnav.progress import Progress, no_progress
from toolnav.route import Router
from toolnav.tool import embedding_text
from toolnav.tuning.examples import NEGATIVE_DEPTH, request_examples
from toolnav.tuning.model import RequestExample, tune_model, tune_request_encoder

__all__ = ["TOOL_MODES", "FoldModel", "ModelTuner", "tuned_embedder"]

SEED = 0
# "tuned": tools are embedded again by the fold model; "frozen": only requests go through the
# fold model, scored against the catalog's existing vectors (no re-embedding).
TOOL_MODES = ("tuned", "frozen")


@dataclass(frozen=True)
class FoldModel:
    """What one `ModelTuner.fit` did.

    Attributes:
        training: the training sets' names.
        examples: training examples per training set.
        model_dir: the fold's model.
        trained_seconds: time spent training (0 when the model was already there).
        embedded: catalog tools embedded now (the rest came from the cache).
        embed_seconds: time spent embedding the catalog.
    """

    training: tuple[str, ...]
    examples: dict[str, int]
    model_dir: Path
    trained_seconds: float
    embedded: int
    embed_seconds: float


def tuned_embedder(model_dir: Path, threads: int, request_encoder: str) -> Embedder:
    """The fold model's embedder (its ONNX graphs are exported into *model_dir*)."""
    return MiniLMEmbedder(model_dir=model_dir, cache_dir=model_dir, threads=threads,
                          request_encoder=request_encoder)


@dataclass
class ModelTuner:
    """Fine-tunes MiniLM on a fold's training sets (see the module docstring).

    Attributes:
        models_dir: where fold models are kept (one directory per training digest).
        tools: ``tuned`` (the catalog is embedded again by the fold model; trained on
            (request, tool text) pairs) or ``frozen`` (only the request encoder is trained,
            against the catalog's vectors; `tune_request_encoder`).
        base: the model fine-tuned (default: the bundled MiniLM).
        per_set: at most this many examples from each training set (drawn with a fixed seed).
        max_steps, batch_size, learning_rate, train_tokens, mix: `tune_model` settings (as
            many passes over the examples as *max_steps* needs; *mix* < 1 averages the
            fine-tuned weights with the base's, WiSE-FT).
        threads, request_encoder: how the fold model's embedder runs (ONNX threads; ``int8``
            or ``fp32`` for requests; tools are always embedded in fp32).
        progress: called as ``progress(stage, done, total)`` while training and embedding.
        embedder_for: builds the fold model's embedder from (model dir, threads, request
            encoder); default `tuned_embedder`.
        name: the tuner's name in reports.
        runs: one `FoldModel` per fit, in order.
    """

    models_dir: Path
    tools: str = "tuned"
    base: Path | None = None
    per_set: int = 400
    max_steps: int = 40
    batch_size: int = 32
    learning_rate: float = 5e-5
    train_tokens: int = 64
    mix: float = 1.0
    threads: int = DEFAULT_THREADS
    request_encoder: str = "int8"
    progress: Progress = no_progress
    name: str = "model"
    runs: list[FoldModel] = field(default_factory=list)
    embedder_for: Callable[[Path, int, str], Embedder] = tuned_embedder

    def fit(self, context: TuningContext) -> Router:
        if self.request_encoder not in ("int8", "fp32") or self.tools not in TOOL_MODES:
            raise ConfigError(f"ModelTuner: request_encoder must be int8 or fp32 (got "
                              f"{self.request_encoder!r}) and tools one of "
                              f"{', '.join(TOOL_MODES)} (got {self.tools!r})")
        tools = context.indexed.tools
        base = context.router(RouteParams())
        text_of = {tool.name: embedding_text(tool) for tool in tools}
        position = {name: i for i, name in enumerate(context.indexed.names)}
        examples: list = []
        counts = {}
        for requests in context.training:
            kept = self._set_examples(base, requests, text_of, position)
            counts[requests.name] = len(kept)
            examples.extend(kept)
        model_dir, trained = self._model(examples, [requests.name for requests in
                                                    context.training], context)
        embedder = self.embedder_for(model_dir, self.threads, self.request_encoder)
        started, indexed, embedded = time.perf_counter(), context.indexed, 0
        if self.tools == "tuned":
            vectors, embedded = tool_vectors(tools, embedder, context.cache, self.progress)
            index = create_index(default_index_kind(len(vectors)), vectors.shape[1])
            index.add(context.indexed.ids, vectors)
            indexed = dataclasses.replace(context.indexed, vectors=vectors, index=index)
        self.runs.append(FoldModel(tuple(counts), counts, model_dir, trained, embedded,
                                   time.perf_counter() - started))
        return Router(indexed, RequestMemo(embedder), RouteParams())

    def _set_examples(self, base: Router, requests: Requests, text_of: dict[str, str],
                      position: dict[str, int]) -> list:
        """The set's training examples with hard negatives, at most `per_set` of them:
        (request, gold tool text) pairs, or with ``tools="frozen"`` one per request."""
        results = base.route_batch(requests.texts, k=NEGATIVE_DEPTH)
        if self.tools == "frozen":
            examples: list = [
                RequestExample(text, tuple(position[name] for name in gold),
                               tuple(position[c.tool.name] for c in result.candidates
                                     if c.tool.name not in gold))
                for text, gold, result in zip(requests.texts, requests.gold, results,
                                              strict=True)]
        else:
            examples = [example for text, gold, result in zip(requests.texts, requests.gold,
                                                              results, strict=True)
                        for example in request_examples(
                            text, gold, [c.tool.name for c in result.candidates], text_of)]
        if len(examples) > self.per_set:
            chosen = random.Random(f"{SEED}:{requests.name}").sample(range(len(examples)),
                                                                     self.per_set)
            examples = [examples[i] for i in sorted(chosen)]
        return examples

    def _model(self, examples: list, training: list[str], context: TuningContext
               ) -> tuple[Path, float]:
        """The fold's model directory (trained now unless already there) and training time."""
        settings = {"base": str(self.base or MODEL_NAME), "tools": self.tools,
                    "max_steps": self.max_steps, "batch_size": self.batch_size,
                    "learning_rate": self.learning_rate, "train_tokens": self.train_tokens,
                    # plain fine-tuning keeps the digests it had before *mix* existed
                    **({"mix": self.mix} if self.mix != 1 else {})}
        digest = hashlib.sha256(json.dumps(
            [settings, [dataclasses.astuple(example) for example in examples]],
            default=sorted).encode()).hexdigest()[:16]
        target = self.models_dir / f"fold-{digest}"
        if (target / TUNING_FILE).is_file():
            return target, 0.0
        stage = f"fine-tuning on {', '.join(training)}"
        # As many passes over the examples as *max_steps* needs: every fold trains as long.
        epochs = max(1, math.ceil(self.max_steps * self.batch_size / max(len(examples), 1)))
        options = {"base": self.base, "epochs": epochs, "learning_rate": self.learning_rate,
                   "batch_size": self.batch_size, "max_steps": self.max_steps,
                   "train_tokens": self.train_tokens, "mix": self.mix,
                   "progress": lambda step, total, _: self.progress(stage, step, total)}
        if self.tools == "frozen":
            report = tune_request_encoder(examples, context.indexed.vectors, target, **options)
        else:
            report = tune_model(examples, target, **options)
        return target, report.seconds
