"""What every command shares: settings read once, the runtime, consoles, progress, formatting."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from toolnav.config import Settings
from toolnav.errors import ConfigError, EmptyCatalog
from toolnav.progress import Progress as ProgressCallback
from toolnav.runtime import Toolnav

__all__ = ["HomeOption", "console", "error_console", "first_line", "open_runtime", "progress",
           "read_json_argument", "require_tools", "split_list", "state"]

console = Console()
error_console = Console(stderr=True)
# Without a terminal (a log file, CI), progress is printed as plain lines this often.
PLAIN_PROGRESS_SECONDS = 10.0
_clock = time.monotonic  # read through this name, so a test can drive it


class _State:
    settings: Settings = Settings()
    debug: bool = False


state = _State()

HomeOption = Annotated[Path | None, typer.Option(
    "--home", envvar="TOOLNAV_HOME", show_envvar=False,
    help="State directory (default ./.toolnav).")]

MixOption = Annotated[float, typer.Option(min=0.01, max=1.0, help=(
    "Weight-space ensembling (WiSE-FT) of a fine-tuned model: keep this share of each weight's "
    "fine-tuned change and take the rest from the bundled model; 1 = plain fine-tuning. Below "
    "1 the model drifts less on tools and requests unlike its training data "
    "(docs/benchmarks.md)."))]


def open_runtime() -> Toolnav:
    """The runtime of the home the command line names."""
    return Toolnav.open(state.settings)


def require_tools(toolnav: Toolnav) -> None:
    """Refuse to go on with an empty catalog, saying how to fill it."""
    if len(toolnav.catalog) == 0:
        raise EmptyCatalog("the catalog is empty; add tools with `toolnav add SOURCE`")


@contextmanager
def progress() -> Iterator[ProgressCallback]:
    """Shows long work on stderr: a bar on a terminal, a plain line every few seconds
    elsewhere; nothing for stages that have nothing to do."""
    if error_console.is_terminal:
        bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), TimeRemainingColumn(), console=error_console,
                       transient=False)
        task: list[int] = []  # created on the first report: no empty bar for work not done

        def update(stage: str, done: int, total: int) -> None:
            if not task:
                task.append(bar.add_task(stage, total=total))
            bar.update(task[0], description=stage, completed=done, total=total)

        with bar:
            yield update
        return
    last = [_clock()]  # short work prints nothing; long work a line every few seconds
    printed = [False]

    def report(stage: str, done: int, total: int) -> None:
        now = _clock()
        if now - last[0] >= PLAIN_PROGRESS_SECONDS or (done >= total and printed[0]):
            last[0], printed[0] = now, True
            print(f"{stage}: {done}/{total}", file=sys.stderr, flush=True)

    yield report


def read_json_argument(text: str, option: str) -> str:
    """The JSON text an option names: inline, ``@file`` or ``-`` (standard input)."""
    if text == "-":
        return sys.stdin.read()
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            return path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"{option} {text}: cannot read {path}: {error.strerror}") from None
        except UnicodeDecodeError as error:
            raise ConfigError(f"{option} {text}: {path} is not UTF-8 text ({error.reason} at "
                              f"byte {error.start})") from None
    return text


def first_line(text: str, width: int = 90) -> str:
    """The first line of *text*, cut to *width* characters."""
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= width else line[: width - 1] + "…"


def split_list(text: str) -> list[str]:
    """The non-empty items of a comma-separated list."""
    return [part.strip() for part in text.split(",") if part.strip()]
