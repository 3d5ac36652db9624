"""Frozen parameter dataclasses and the one `Settings` object the CLI and server read.

Library code takes these objects explicitly; only `Settings.from_env` looks at `TOOLNAV_*`
environment variables.

Example:
    settings = Settings.from_env()            # TOOLNAV_HOME, TOOLNAV_LLM_BASE_URL, ...
    catalog = Catalog.open(settings.home)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from toolnav.errors import ConfigError

__all__ = ["DEFAULT_HOME", "LLMSettings", "NSGParams", "RouteParams", "Settings"]

DEFAULT_HOME = Path(".toolnav")


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
    """Everything the CLI and server need to know, read once at start-up."""

    home: Path = DEFAULT_HOME
    llm: LLMSettings = field(default_factory=LLMSettings)

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
        return cls(home=home or Path(env.get("TOOLNAV_HOME") or DEFAULT_HOME), llm=llm)


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None


@dataclass(frozen=True)
class RouteParams:
    """How the router ranks tools; defaults chosen on dev data (docs/benchmarks.md).

    Attributes:
        depth: candidates taken from each retriever before fusion.
        dense_weight: weight of the dense cosine in hybrid fusion; BM25 (scaled to [0, 1] by
            the request's best BM25 score) gets ``1 - dense_weight``.
        abstain_below: hybrid score under which the router says no tool fits (None: never).
        feedback_weight: the most a tool's failure record can lower its score.
        feedback_min_outcomes: outcomes needed before feedback has its full weight.
    """

    depth: int = 100
    dense_weight: float = 0.5
    abstain_below: float | None = None
    feedback_weight: float = 0.3
    feedback_min_outcomes: int = 5

    def __post_init__(self) -> None:
        if self.depth < 1:
            raise ConfigError(f"depth must be at least 1, got {self.depth}")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ConfigError(f"dense_weight must be in [0, 1], got {self.dense_weight}")
        if not 0.0 <= self.feedback_weight <= 1.0:
            raise ConfigError(f"feedback_weight must be in [0, 1], got {self.feedback_weight}")


@dataclass(frozen=True)
class NSGParams:
    """NSG build and search parameters (Fu et al., VLDB 2019); defaults measured in bench/ann.py.

    Attributes:
        knn: neighbours per node in the exact kNN graph the build starts from (K).
        build_pool: search pool while collecting edge candidates (L).
        max_candidates: candidates considered by MRNG selection (C).
        degree: maximum out-degree of the final graph (R).
        search_pool: default search pool (raised to k when k is larger).
        threads: threads for build and batch search.
        consolidate_at: share of deleted nodes that triggers consolidation.
    """

    knn: int = 64
    build_pool: int = 100
    max_candidates: int = 500
    degree: int = 32
    search_pool: int = 64
    threads: int = 2
    consolidate_at: float = 0.2

    def __post_init__(self) -> None:
        for name in ("knn", "build_pool", "max_candidates", "degree", "search_pool", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"NSGParams.{name} must be at least 1, got "
                                  f"{getattr(self, name)}")
        if not 0.0 < self.consolidate_at < 1.0:
            raise ConfigError(f"NSGParams.consolidate_at must be in (0, 1), got "
                              f"{self.consolidate_at}")
