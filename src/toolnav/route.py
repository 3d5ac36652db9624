"""The Router: a request in, the tools that fit it out, ranked, with scores and reasons.

Dense retrieval (the catalog's vector index) and BM25 (`toolnav.lexical`) each propose
candidates; hybrid fusion scores the union with a convex combination of the exact cosine and the
request-normalised BM25 score. Filters restrict the catalog; a tool's recorded failures lower its
score by a bounded amount; a calibrated threshold lets the router say that no tool fits.
Rendering the chosen tools for an LLM is `toolnav.render`'s job.

Example:
    router = Router.open(catalog)
    result = router.route("convert 30 dollars to euros", k=5)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from toolnav.catalog import Catalog
from toolnav.config import RouteParams
from toolnav.errors import ConfigError, EmptyCatalog
from toolnav.lexical import LexicalIndex
from toolnav.tool import Tool, lexical_text

__all__ = ["METHODS", "Candidate", "RouteResult", "Router", "ToolFilter"]

METHODS = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class ToolFilter:
    """Which tools may be proposed. Empty fields do not restrict.

    Attributes:
        sources: only tools from these sources (namespaces).
        tags: only tools carrying at least one of these tags.
        allow: only these tool names.
        deny: never these tool names.
    """

    sources: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()

    def admits(self, tool: Tool) -> bool:
        """Whether *tool* passes every restriction."""
        return ((not self.sources or tool.source in self.sources)
                and (not self.tags or not self.tags.isdisjoint(tool.tags))
                and (not self.allow or tool.name in self.allow)
                and tool.name not in self.deny)


@dataclass(frozen=True)
class Candidate:
    """A proposed tool: its rank (1 = best), score and the component scores behind it."""

    tool: Tool
    score: float
    rank: int
    reasons: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteResult:
    """The ranked candidates for one request, and whether the router abstains."""

    request: str
    candidates: list[Candidate]
    abstained: bool
    best_score: float


class Router:
    """Ranks a catalog's tools for requests (see the module docstring)."""

    def __init__(self, catalog: Catalog, params: RouteParams | None = None):
        self.params = params or RouteParams()
        entries = catalog.entries()
        if not entries:
            raise EmptyCatalog("the catalog is empty; add tools with `toolnav add`")
        self._catalog = catalog
        self._tools = [entry.tool for entry in entries]
        self._ids = np.array([entry.id for entry in entries], dtype=np.int64)
        self._position = {int(entry_id): i for i, entry_id in enumerate(self._ids)}
        self._index = catalog.vector_index()
        self._vectors = catalog.embeddings(self._ids)
        self._embedder = catalog.embedder
        self._lexical = LexicalIndex(self._ids, [lexical_text(tool) for tool in self._tools])
        self._penalty = self._feedback_penalties(catalog.feedback_scores())

    @classmethod
    def open(cls, catalog: Catalog, params: RouteParams | None = None) -> Router:
        """A router over *catalog* (its index is built first if stale).

        Raises:
            EmptyCatalog: the catalog has no tools.
        """
        return cls(catalog, params)

    def route(self, request: str, k: int = 5, *, method: str = "hybrid",
              filters: ToolFilter | None = None) -> RouteResult:
        """Rank tools for one request.

        Args:
            request: what the user wants done.
            k: how many candidates to return (all tools if the catalog is smaller).
            method: ``hybrid`` (default), ``dense`` or ``bm25``.
            filters: restrict which tools may be proposed.

        Raises:
            ConfigError: unknown method or k < 1.
        """
        return self.route_batch([request], k, method=method, filters=filters)[0]

    def route_batch(self, requests: Sequence[str], k: int = 5, *, method: str = "hybrid",
                    filters: ToolFilter | None = None) -> list[RouteResult]:
        """Rank tools for several requests, embedding them in one batch."""
        if method not in METHODS:
            raise ConfigError(f"unknown routing method {method!r}; choose one of "
                              f"{', '.join(METHODS)}")
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}")
        allowed = self._allowed(filters)
        queries = (self._embedder.embed(list(requests)) if method != "bm25"
                   else np.zeros((len(requests), 0), dtype=np.float32))
        return [self._route_one(request, query, k, method, allowed)
                for request, query in zip(requests, queries, strict=True)]

    def _route_one(self, request: str, query: np.ndarray, k: int, method: str,
                   allowed: np.ndarray | None) -> RouteResult:
        lexical = self._lexical.scores(request) if method != "dense" else None
        positions = self._candidate_positions(query, lexical, allowed)
        dense = self._vectors[positions] @ query if method != "bm25" else None
        bm25 = None
        if lexical is not None:
            best = float(lexical.max() if allowed is None else lexical[allowed].max(initial=0))
            bm25 = lexical[positions] / best if best > 0 else np.zeros(len(positions))
        if method == "dense":
            scores = dense.copy()
        elif method == "bm25":
            scores = bm25.copy()
        else:
            weight = self.params.dense_weight
            scores = weight * dense + (1 - weight) * bm25
        scores -= self._penalty[positions]
        order = np.argsort(-scores, kind="stable")[:k]
        candidates = []
        for rank, row in enumerate(order, start=1):
            reasons = {}
            if dense is not None:
                reasons["dense"] = float(dense[row])
            if bm25 is not None:
                reasons["bm25"] = float(bm25[row])
            if self._penalty[positions[row]]:
                reasons["feedback_penalty"] = float(self._penalty[positions[row]])
            candidates.append(Candidate(self._tools[positions[row]], float(scores[row]), rank,
                                        reasons))
        best_score = candidates[0].score if candidates else 0.0
        threshold = self.params.abstain_below
        abstained = not candidates or (threshold is not None and best_score < threshold)
        return RouteResult(request, candidates, abstained, best_score)

    def _candidate_positions(self, query: np.ndarray, lexical: np.ndarray | None,
                             allowed: np.ndarray | None) -> np.ndarray:
        """Positions (into the tool list) worth scoring: the union of each retriever's best."""
        if allowed is not None:
            return np.flatnonzero(allowed)  # filtered catalogs are scored exhaustively
        depth = min(self.params.depth, len(self._tools))
        found = []
        if query.size:
            ids, _ = self._index.search(query, depth)
            found.append(np.array([self._position[int(i)] for i in ids], dtype=np.int64))
        if lexical is not None:
            top = np.argpartition(-lexical, depth - 1)[:depth]
            found.append(top[lexical[top] > 0])
        return np.unique(np.concatenate(found))

    def _allowed(self, filters: ToolFilter | None) -> np.ndarray | None:
        if filters is None or filters == ToolFilter():
            return None
        return np.array([filters.admits(tool) for tool in self._tools])

    def _feedback_penalties(self, feedback: dict[str, tuple[float, int]]) -> np.ndarray:
        params = self.params
        penalty = np.zeros(len(self._tools), dtype=np.float32)
        for i, tool in enumerate(self._tools):
            if tool.name in feedback:
                rate, outcomes = feedback[tool.name]
                confidence = min(1.0, outcomes / params.feedback_min_outcomes)
                penalty[i] = params.feedback_weight * (1.0 - rate) * confidence
        return penalty
