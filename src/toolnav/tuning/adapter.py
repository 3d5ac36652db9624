"""A linear request adapter: a square matrix applied to the frozen model's request vectors.

Tool vectors stay as they are (nothing is re-embedded); each request vector ``q`` becomes
``normalise(q @ W)``. `fit_adapter` learns ``W`` (starting from the identity, kept near it by a
penalty) so that each training request's gold tools win a softmax over its hard negatives: the
`NEGATIVES` tools of the whole catalog nearest the request before adapting. Each training set
weighs the same whatever its size.
`AdapterTuner` is the `toolnav.evaluation.leave_one_out.Tuner` that fits it on a fold's
training sets; `AdaptedEmbedder` puts it in front of an embedder.

Example:
    weights = fit_adapter(request_vectors, gold_positions, set_of_request, tool_vectors)
    router = Router(indexed, AdaptedEmbedder(embedder, weights))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from toolnav.config import RouteParams
from toolnav.embed import Embedder, embed_with_spans
from toolnav.embed.base import Span, WrappedEmbedder
from toolnav.errors import EmbeddingError
from toolnav.evaluation.leave_one_out import TuningContext
from toolnav.route import Router
from toolnav.tuning.model import TEMPERATURE

__all__ = ["AdaptedEmbedder", "AdapterTuner", "fit_adapter"]

STEPS = 150
NEGATIVES = 64  # nearest catalog tools per request the gold tools must beat
LEARNING_RATE = 2e-3
IDENTITY_PENALTY = 1.0  # weight of ||W - I||² (Frobenius) against the ranking loss
SEED = 0


def fit_adapter(requests: np.ndarray, gold: Sequence[Sequence[int]], groups: Sequence[int],
                tools: np.ndarray, *, steps: int = STEPS,
                identity_penalty: float = IDENTITY_PENALTY) -> np.ndarray:
    """A (dim, dim) float32 matrix fitted as the module docstring says.

    Args:
        requests: (n, dim) unit request vectors.
        gold: per request, positions of its gold tools in *tools*.
        groups: per request, which training set it belongs to (each set weighs the same).
        tools: (tools, dim) unit tool vectors, the whole catalog (hard negatives come from it).
        steps: full-batch Adam steps.
        identity_penalty: how strongly ``W`` is held near the identity.

    Raises:
        EmbeddingError: the inputs disagree in length or there is nothing to fit.
    """
    if not len(requests) or not (len(requests) == len(gold) == len(groups)):
        raise EmbeddingError(f"{len(requests)} request vectors, {len(gold)} gold lists and "
                             f"{len(groups)} set labels: need the same, non-zero number")
    import torch

    torch.manual_seed(SEED)
    dim = requests.shape[1]
    x = torch.from_numpy(np.ascontiguousarray(requests, dtype=np.float32))
    # Per request: its gold tools, then the nearest others (the same count for every request).
    count = min(NEGATIVES, len(tools))
    nearest = np.argsort(-(requests @ tools.T), axis=1)[:, :count]
    width = count + max(len(positions) for positions in gold)
    candidates = np.zeros((len(requests), width), dtype=np.int64)
    target = torch.zeros(len(requests), width)
    for row, positions in enumerate(gold):
        others = [i for i in nearest[row] if i not in set(positions)]
        chosen = [*positions, *others][:width]
        candidates[row, :len(chosen)] = chosen
        candidates[row, len(chosen):] = others[-1] if others else positions[0]
        target[row, :len(positions)] = 1.0 / len(positions)
    t = torch.from_numpy(np.ascontiguousarray(tools, dtype=np.float32))[
        torch.from_numpy(candidates)]  # (requests, width, dim)
    sizes = np.bincount(np.asarray(groups))
    weight = torch.from_numpy((1.0 / sizes[np.asarray(groups)]).astype(np.float32))
    weight = weight / weight.sum()
    delta = torch.zeros(dim, dim, requires_grad=True)
    optimiser = torch.optim.Adam([delta], lr=LEARNING_RATE)
    identity = torch.eye(dim)
    for _ in range(steps):
        adapted = torch.nn.functional.normalize(x @ (identity + delta), dim=-1)
        log_p = torch.log_softmax(torch.einsum("rd,rcd->rc", adapted, t) / TEMPERATURE, dim=1)
        loss = (-(target * log_p).sum(1) * weight).sum() + identity_penalty * (delta ** 2).sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return (identity + delta).detach().numpy().astype(np.float32)


class AdaptedEmbedder(WrappedEmbedder):
    """*embedder* for tools, *embedder* then ``W`` for requests (see the module docstring)."""

    def __init__(self, embedder: Embedder, weights: np.ndarray):
        super().__init__(embedder)
        self._weights = weights

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[Span]]
                    ) -> list[np.ndarray]:
        adapted = []
        for rows in embed_with_spans(self._embedder, texts, spans):
            rows = rows @ self._weights
            adapted.append(rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12))
        return adapted


@dataclass
class AdapterTuner:
    """Fits a request adapter on the training sets; routes with default `RouteParams`."""

    steps: int = STEPS
    identity_penalty: float = IDENTITY_PENALTY
    name: str = "adapter"
    shifts: list[float] = field(default_factory=list)  # ||W - I|| of each fit

    def fit(self, context: TuningContext) -> Router:
        position = {tool.name: i for i, tool in enumerate(context.indexed.tools)}
        texts, gold, groups = [], [], []
        for group, requests in enumerate(context.training):
            texts.extend(requests.texts)
            gold.extend([position[name] for name in names] for names in requests.gold)
            groups.extend([group] * len(requests.texts))
        vectors = np.stack([rows[0] for rows in
                            embed_with_spans(context.embedder, texts, [()] * len(texts))])
        weights = fit_adapter(vectors, gold, groups, context.indexed.vectors, steps=self.steps,
                              identity_penalty=self.identity_penalty)
        self.shifts.append(float(np.linalg.norm(weights - np.eye(len(weights)))))
        return context.router(RouteParams(), AdaptedEmbedder(context.embedder, weights))
