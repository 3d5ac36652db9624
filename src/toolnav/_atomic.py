"""Replace a directory all at once: write into a temporary sibling, then swap it in."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["replaced_directory"]


@contextmanager
def replaced_directory(path: Path) -> Iterator[Path]:
    """Yield an empty staging directory that replaces *path* when the block succeeds.

    If the block raises, *path* is untouched and the staging directory is removed, so an
    interrupted writer never leaves a half-written directory behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield staging
        old = path.with_name(f".{path.name}.old")
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(staging, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
