"""The one progress callback shape of long work (embedding, index builds, evaluation, tuning).

Example:
    def show(stage: str, done: int, total: int) -> None: print(f"{stage} {done}/{total}")
    maintainer.update(progress=show)
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "no_progress"]

# Called as progress(stage, done, total): what is being done, and how far it has got.
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    """A progress callback that shows nothing."""
