"""Shared fixtures: a deterministic word-hashing embedder for plumbing tests, tool factories.

Ranking-quality tests use the real bundled model instead (see `real_embedder`).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from toolnav.runtime import configure_process
from toolnav.tool import Tool

# pytest is an entry point like the CLI and the server: numba's threading layer (its OpenMP
# layer slows torch 40-170x in the same process), thread counts, offline model loading.
configure_process()

pytest_plugins = ["tests.faults.fixtures"]

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


class HashingEmbedder:
    """Bag of hashed words: deterministic, instant, and counts the texts it embeds."""

    model_id = "test-hashing-64"
    dim = 64

    def __init__(self) -> None:
        self.texts_embedded = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts_embedded += len(texts)
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim
                vectors[row, bucket] += 1.0
            vectors[row, 0] += 1e-3  # never the zero vector
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def hashing_embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture(scope="session")
def real_embedder():
    from toolnav.embed import load_default_embedder

    return load_default_embedder()


def make_tool(name: str, description: str = "", **properties: str) -> Tool:
    """A tool whose string parameters are described by the keyword arguments."""
    return Tool(name=name, description=description, input_schema={
        "type": "object",
        "properties": {key: {"type": "string", "description": text}
                       for key, text in properties.items()},
    })


def route_over(home: Path, embedder, tools: Sequence[Tool], params, request: str, **route):
    """Index *tools* (source ``daily``) in a new runtime at *home* and route *request* once
    with *params* (a `RouteParams`); *route* goes to `Router.route`."""
    from toolnav.route import Router
    from toolnav.runtime import Toolnav

    with Toolnav.open(home, embedder=embedder) as toolnav:
        toolnav.catalog.add_tools(tools, source="daily")
        toolnav.index()
        return Router(toolnav.maintainer.snapshot(), embedder, params).route(request, **route)


def requires_shared_data(*names: str):
    """Skip unless ../shared/data holds the named dataset folders."""
    missing = [name for name in names if not (SHARED_DATA / name / "tools.jsonl").is_file()]
    return pytest.mark.skipif(bool(missing), reason=f"../shared/data lacks {missing}")


def python_command(script: str) -> tuple[list[str], dict[str, str]]:
    """The command and environment that run *script* in a fresh Python process with this one's
    import path."""
    return ([sys.executable, "-c", script],
            {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def python_output(script: str, timeout: float = 120) -> str:
    """The stdout of *script* run by a fresh Python process with this one's import path (so
    what it imports is measured from a clean start); it must exit 0."""
    command, environment = python_command(script)
    process = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                             env=environment)
    assert process.returncode == 0, process.stderr
    return process.stdout


def run_toolnav(home: Path, *args: str, check_exit: int = 0, env: dict[str, str] | None = None,
                timeout: float = 240) -> subprocess.CompletedProcess:
    """`toolnav --home HOME ARGS...` as a user runs it: a real process; its exit code must be
    *check_exit* and it must never print a traceback."""
    process = subprocess.run([sys.executable, "-m", "toolnav", "--home", str(home), *args],
                             capture_output=True, text=True, timeout=timeout,
                             env={**os.environ, **(env or {})})
    assert process.returncode == check_exit, process.stdout + process.stderr
    assert "Traceback" not in process.stderr
    return process
