"""The Router: a request in, the tools that fit it out, ranked, with scores and reasons.

Dense retrieval (the catalog's vector index) and BM25 (`toolnav.lexical`) each propose
candidates; hybrid fusion scores the union with a convex combination of the exact cosine and the
request-normalised BM25 score. A multi-step request is also scored sentence by sentence (a tool
keeps its best score; the parts' vectors are pooled from the request's own forward pass), and
tools are pulled toward the best tool of their group (service), so the several tools a request
needs reach the top k together. Filters restrict the catalog; a
tool's recorded failures lower its score by a bounded amount; an optional threshold on the
request's *lift* (best cosine minus its mean cosine over the searched tools) lets the router say
that no tool fits.
Rendering the chosen tools for an LLM is `toolnav.render`'s job.

Example:
    router = Router(maintainer.snapshot(), embedder)
    result = router.route("convert 30 dollars to euros", k=5)
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from toolnav.catalog.records import LazyTools
from toolnav.config import RouteParams
from toolnav.embed import Embedder, embed_with_spans
from toolnav.errors import ConfigError, EmptyCatalog
from toolnav.index import FlatIndex, create_index
from toolnav.index.flat import inner_products_at
from toolnav.indexing import IndexedCatalog
from toolnav.tool import Tool
from toolnav.translate import read_in_english

__all__ = ["CENTROID_SAMPLE", "METHODS", "Candidate", "RouteResult", "Router", "ToolFilter",
           "intent_spans", "split_intents"]

METHODS = ("hybrid", "dense", "bm25")
MIN_INTENT_CHARS = 13
MAX_INTENTS = 8
# Floor for a list's score spread, so a flat list (all scores equal) does not blow up.
MIN_SPREAD = 1e-3
# A request's mean cosine over the searchable tools is its dot product with their mean vector,
# taken over at most this many of them in a fixed random order (exact for smaller catalogs): a
# bounded cost under any filter (~0.1 ms at 10k tools), a mean cosine within ~0.01 of the exact
# one, and the same abstention figures (docs/benchmarks.md, issue 18).
CENTROID_SAMPLE = 256
# What `Router.warm_up` routes: English and Chinese, so every request path is loaded.
_WARM_UP_REQUEST = "check the weather 查天气"
# Sentence ends (Chinese ones need no space after them), and the connectives that chain
# steps inside a sentence.
_INTENT_BOUNDARY = re.compile(
    r"(?<=[.!?;])\s+|(?<=[。！？；])\s*"
    r"|\s+(?:and then|and also|also|then|plus|after that|additionally)\s+",
    re.IGNORECASE)


def intent_spans(request: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences and chained clauses of a request, when it has
    more than one."""
    spans, start = [], 0
    for boundary in [*_INTENT_BOUNDARY.finditer(request), None]:
        end = boundary.start() if boundary else len(request)
        piece = request[start:end]
        stripped = piece.strip()
        if len(stripped) >= MIN_INTENT_CHARS:
            first = start + len(piece) - len(piece.lstrip())
            spans.append((first, first + len(stripped)))
        start = boundary.end() if boundary else start
    spans = spans[:MAX_INTENTS]
    return spans if len(spans) > 1 else []


def split_intents(request: str) -> list[str]:
    """The sentences and chained clauses of a request, when it has more than one."""
    return [request[start:end] for start, end in intent_spans(request)]


def _top_stats(scores: np.ndarray, depth: int) -> tuple[float, float]:
    """Mean and standard deviation of the *depth* best scores: the scale of one ranked list."""
    if len(scores) > depth:
        scores = np.partition(scores, len(scores) - depth)[-depth:]
    if not len(scores):
        return 0.0, 1.0
    values = scores.astype(np.float64)  # one pass for both moments, without cancellation
    mean = values.sum() / len(values)
    return float(mean), float(np.sqrt(max(values @ values / len(values) - mean * mean, 0.0)))


def _standardised(scores: np.ndarray, stats: list[tuple[float, float]]) -> np.ndarray:
    """Each text's scores as standard scores against its own top list (z-normalisation)."""
    means = np.array([mean for mean, _ in stats], dtype=np.float32)[:, None]
    spreads = np.array([std for _, std in stats], dtype=np.float32)[:, None]
    return (scores - means) / np.maximum(spreads, MIN_SPREAD)


@dataclass(frozen=True)
class ToolFilter:
    """Which tools may be proposed. Empty fields do not restrict.

    Attributes:
        sources: only tools from these sources.
        namespaces: only tools in these namespaces (`toolnav.tool.Tool.namespace`: an MCP
            tool's server, else its source).
        tags: only tools carrying at least one of these tags.
        allow: only these tool names.
        deny: never these tool names.
    """

    sources: frozenset[str] = frozenset()
    namespaces: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()

    def admits(self, tool: Tool) -> bool:
        """Whether *tool* passes every restriction."""
        return ((not self.sources or tool.source in self.sources)
                and (not self.namespaces or tool.namespace in self.namespaces)
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
    """The ranked candidates for one request, and whether the router abstains.

    Attributes:
        best_score: how well the best tool fits the request as a whole: its cosine for dense
            and hybrid routing, else its BM25 score.
        lift: the best cosine minus the request's mean cosine over the tools the search
            could return (the catalog, or what the filters admit; over a fixed sample of
            `CENTROID_SAMPLE` of them in larger catalogs): how far the best tool
            stands out from the catalog for this request. Requests that sit close to every
            tool (short, generic) get no credit for it, so the abstention threshold on it
            (`RouteParams.abstain_lift_below`) carries across catalogs and request styles.
            0.0 for BM25 routing, which has no cosines.
    """

    request: str
    candidates: list[Candidate]
    abstained: bool
    best_score: float
    lift: float


class Router:
    """Ranks a catalog's tools for requests (see the module docstring).

    Attributes:
        dense_weight: the hybrid fusion's dense weight in use (`RouteParams.dense_weight_for`
            the catalog's embedding model).
    """

    def __init__(self, indexed: IndexedCatalog, embedder: Embedder,
                 params: RouteParams | None = None):
        self.params = params or RouteParams()
        if not indexed.tools:
            raise EmptyCatalog("the catalog is empty; add tools with `toolnav add`")
        self.version = indexed.version
        self._tools = indexed.tools
        self._ids = indexed.ids
        # Catalog id -> position in the tool list, as an array: one gather per search result.
        self._position = np.full(int(self._ids.max()) + 1, -1, dtype=np.int64)
        self._position[self._ids] = np.arange(len(self._ids))
        self._index = indexed.index
        # The snapshot holds every vector already (`IndexMaintainer.snapshot(exact=True)`
        # gives a flat index over them, without loading a graph).
        if self.params.exact_search and not isinstance(self._index, FlatIndex):
            self._index = create_index("flat", indexed.vectors.shape[1])
            self._index.add(self._ids, indexed.vectors)
        self._vectors = indexed.vectors
        # Candidates' dense scores: a graph index has loaded numba, whose kernel reads their
        # rows in place; a flat index serves small catalogs, where copying the rows out is
        # cheap and importing numba would not be.
        self._inner_products_at = inner_products_at
        if not isinstance(self._index, FlatIndex):
            from toolnav.index.nsg import inner_products_at as compiled

            self._inner_products_at = compiled
        self._sample_order = np.random.default_rng(0).permutation(len(self._tools))
        self._centroid = self._centroid_of(None)
        self._lexical = indexed.lexical
        self._embedder = embedder
        self.dense_weight = self.params.dense_weight_for(getattr(embedder, "tuned", False))
        self._names = indexed.names
        group_ids: dict[str, int] = {}
        self._group_of = np.array([group_ids.setdefault(group, len(group_ids))
                                   if group else -1 for group in indexed.groups], dtype=np.int64)
        self._groups = len(group_ids)
        self._grouped = np.flatnonzero(self._group_of >= 0)  # positions of grouped tools
        self._grouped_group = self._group_of[self._grouped]
        self._penalty = self._feedback_penalties(indexed.feedback)

    def with_feedback(self, feedback: dict[str, tuple[float, int]]) -> Router:
        """This router with *feedback* (tool name -> success rate, outcomes) instead of the
        feedback it was built with; cheap, the indexes are shared."""
        router = copy.copy(self)
        router._penalty = router._feedback_penalties(feedback)
        return router

    def warm_up(self) -> None:
        """Load now what the first request would otherwise wait for: the request encoder, the
        index's compiled search and, when the parameters use them, the Chinese dictionary
        (about 1 s, holding the GIL, so every concurrent request would stall behind it) and
        the translation model. Routes one short request written in English and Chinese."""
        self.route_batch([_WARM_UP_REQUEST], k=1)

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
        split = method == "hybrid" and self.params.split_intents
        # Chinese gets English beside it (senses, a translation): the tool texts are English.
        read = read_in_english(requests, self.params)
        spans = [intent_spans(text) if split else [] for text in read]
        texts = [[text, *(text[start:end] for start, end in text_spans)]
                 for text, text_spans in zip(read, spans, strict=True)]
        # One forward pass per request: its parts are pooled from the request's token states.
        vectors = (embed_with_spans(self._embedder, read, spans) if method != "bm25"
                   else [np.zeros((len(group), 0), dtype=np.float32) for group in texts])
        allowed = self._allowed(filters)
        # Each retriever proposes at least k tools, so k above `depth` still gets k.
        size = len(self._tools) if allowed is None else int(allowed.sum())
        if not size:  # the filters admit no tool
            return [RouteResult(request, [], True, 0.0, 0.0) for request in requests]
        search_depth = min(max(self.params.depth, k), size)
        # One index search for every text of every request: the index spreads a batch over
        # its threads.
        found = self._dense_candidates(np.concatenate(vectors), allowed, search_depth)
        bounds = np.cumsum([0, *(len(group) for group in vectors)])
        centroid = self._centroid if allowed is None else self._centroid_of(allowed)
        return [self._route_one(request, group, queries, k, method, allowed, search_depth,
                                found[bounds[i]:bounds[i + 1]],
                                centroid)
                for i, (request, group, queries) in enumerate(zip(requests, texts, vectors,
                                                                  strict=True))]

    def _route_one(self, request: str, texts: list[str], queries: np.ndarray, k: int,
                   method: str, allowed: np.ndarray | None, search_depth: int,
                   dense_found: list[np.ndarray], centroid: np.ndarray) -> RouteResult:
        # (texts, tools) BM25 scores; no rows when the method uses none.
        lexical = (self._lexical.scores_of(texts) if method != "dense"
                   else np.zeros((0, len(self._tools)), dtype=np.float32))
        if allowed is not None:
            lexical = np.where(allowed, lexical, 0)
        lexical_found, lexical_stats = self._lexical_candidates(lexical, search_depth)
        positions = self._candidate_positions([*dense_found, *lexical_found], allowed)
        dense = (self._inner_products_at(queries, self._vectors, positions)
                 if method != "bm25" else None)
        bm25 = lexical[:, positions] if len(lexical) else None
        if method == "dense":
            per_text = dense
        elif method == "bm25":
            per_text = bm25
        else:
            weight = self.dense_weight
            # Each text's dense list scored by exact cosines (`dense` holds them for every
            # candidate), not by the index's own, possibly approximate, scores.
            dense_stats = [_top_stats(scores[np.searchsorted(positions, rows)],
                                      self.params.depth)
                           for scores, rows in zip(dense, dense_found, strict=True)]
            per_text = (weight * _standardised(dense, dense_stats)
                        + (1 - weight) * _standardised(bm25, lexical_stats))
        best_text = per_text.argmax(axis=0)  # which part of the request each tool fits best
        scores = per_text.max(axis=0)
        if method == "hybrid" and self.params.group_pull:
            scores = self._pull_toward_group(positions, scores)
        scores = scores - self._penalty[positions]
        order = np.argsort(-scores, kind="stable")[:k]
        if isinstance(self._tools, LazyTools):  # the k tools not built yet: one store read
            self._tools.load(positions[order].tolist())
        candidates = []
        for rank, row in enumerate(order, start=1):
            text = best_text[row]
            reasons = {}
            if dense is not None:
                reasons["dense"] = float(dense[text, row])
            if bm25 is not None:
                reasons["bm25"] = float(bm25[text, row])
            if text:
                reasons["intent"] = float(text)
            if self._penalty[positions[row]]:
                reasons["feedback_penalty"] = float(self._penalty[positions[row]])
            candidates.append(Candidate(self._tools[positions[row]], float(scores[row]), rank,
                                        reasons))
        # How well the best tool fits the request as a whole: the cosine for dense and hybrid
        # (comparable across requests, unlike the standardised fused score), else BM25.
        best_score, lift = 0.0, 0.0
        if candidates and dense is not None:
            best_score = float(dense[0].max())
            lift = best_score - float(queries[0] @ centroid)
        elif candidates:
            best_score = candidates[0].score
        return RouteResult(request, candidates,
                           not candidates or (dense is not None and self._abstains(best_score,
                                                                                   lift)),
                           best_score, lift)

    def _abstains(self, best_score: float, lift: float) -> bool:
        """Whether either configured threshold says that no tool fits."""
        params = self.params
        return ((params.abstain_lift_below is not None and lift < params.abstain_lift_below)
                or (params.abstain_below is not None and best_score < params.abstain_below))

    def _centroid_of(self, allowed: np.ndarray | None) -> np.ndarray:
        """The mean vector of the admitted tools (all if *allowed* is None), over at most
        `CENTROID_SAMPLE` of them."""
        order = self._sample_order
        if allowed is not None:
            order = order[allowed[order]]
        return self._vectors[order[:CENTROID_SAMPLE]].mean(axis=0)

    def _dense_candidates(self, queries: np.ndarray, allowed: np.ndarray | None,
                          search_depth: int) -> list[np.ndarray]:
        """Each text's nearest tools (positions), by the index."""
        if not queries.size:
            return []
        allowed_ids = None if allowed is None else self._ids[allowed]
        ids, _ = self._index.search(queries, search_depth, allowed=allowed_ids)
        return [self._position[row[row >= 0]] for row in ids]

    def _lexical_candidates(self, lexical: np.ndarray, search_depth: int
                            ) -> tuple[list[np.ndarray], list[tuple[float, float]]]:
        """Each text's (row's) best BM25 matches (positions) and the mean and spread of their
        scores."""
        depth = min(self.params.depth, search_depth)
        found, stats = [], []
        for scores in lexical:
            # BM25 scores are sparse: only tools sharing a term with the text are above 0.
            matched = np.flatnonzero(scores > 0)
            if len(matched) > search_depth:
                matched = matched[np.argpartition(-scores[matched], search_depth - 1)
                                  [:search_depth]]
            found.append(matched)
            top = scores[matched]  # the top `depth` list, its missing places scoring 0
            if len(top) < depth:
                top = np.concatenate([top, np.zeros(depth - len(top), dtype=top.dtype)])
            stats.append(_top_stats(top, depth))
        return found, stats

    def _candidate_positions(self, found: list[np.ndarray], allowed: np.ndarray | None
                             ) -> np.ndarray:
        """Positions (into the tool list) worth scoring: each retriever's best for each text
        (at least k from the dense side; BM25 proposes only tools sharing a word), plus the
        other admitted tools of the groups those belong to."""
        # Boolean masks over the catalog: a few passes over 10k bytes beat sorting the
        # candidates (np.unique) three times.
        chosen = np.zeros(len(self._tools), dtype=bool)
        for rows in found:
            chosen[rows] = True
        if self.params.group_pull and self._groups:
            groups = self._group_of[chosen]
            picked = np.zeros(self._groups, dtype=bool)
            picked[groups[groups >= 0]] = True
            chosen[self._grouped] |= picked[self._grouped_group]
        if allowed is not None:
            chosen &= allowed
        return np.flatnonzero(chosen)

    def _pull_toward_group(self, positions: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Move each grouped tool part of the way toward its group's best score."""
        groups = self._group_of[positions]
        grouped = groups >= 0
        if not grouped.any():
            return scores
        best = np.full(self._groups, -np.inf, dtype=scores.dtype)
        np.maximum.at(best, groups[grouped], scores[grouped])
        pulled = scores.copy()
        pulled[grouped] += self.params.group_pull * (best[groups[grouped]] - scores[grouped])
        return pulled

    def _allowed(self, filters: ToolFilter | None) -> np.ndarray | None:
        if filters is None or filters == ToolFilter():
            return None
        return np.array([filters.admits(tool) for tool in self._tools])

    def _feedback_penalties(self, feedback: dict[str, tuple[float, int]]) -> np.ndarray:
        params = self.params
        penalty = np.zeros(len(self._names), dtype=np.float32)
        for i, name in enumerate(self._names):
            if name in feedback:
                rate, outcomes = feedback[name]
                confidence = min(1.0, outcomes / params.feedback_min_outcomes)
                penalty[i] = params.feedback_weight * (1.0 - rate) * confidence
        return penalty
