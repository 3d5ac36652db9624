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

__all__ = ["DEFAULT_HOME", "LLMSettings", "Settings"]

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
