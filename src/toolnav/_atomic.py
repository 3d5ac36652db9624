"""Atomic writes: a file or a whole directory appears complete, or not at all.

Writers fill a temporary sibling, then `os.replace` swaps it in; an interrupted writer leaves the
old version in place and no temporary behind (the block's failure removes it; a killed process
leaves a dot-prefixed sibling that the next writer of the same path removes).

Example:
    with replaced_file(path) as staging: np.save(staging, array)
    with replaced_directory(index_dir) as staging: write_arrays(staging)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["replaced_directory", "replaced_file"]


@contextmanager
def replaced_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path (same folder and suffix) that replaces *path* when the block
    succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix,
                                        dir=path.parent)
    os.close(descriptor)
    staging = Path(name)
    try:
        yield staging
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)


@contextmanager
def replaced_directory(path: Path) -> Iterator[Path]:
    """Yield an empty staging directory that replaces *path* when the block succeeds.

    If the block raises, *path* is untouched and the staging directory is removed. Staging
    directories that a killed writer left (named after its process id) are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_writers_staging(path)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", dir=path.parent))
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


def _remove_dead_writers_staging(path: Path) -> None:
    for leftover in path.parent.glob(f".{path.name}.*.*"):
        owner = leftover.name[len(path.name) + 2:].split(".", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True
