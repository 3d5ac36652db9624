"""The `toolnav` command: add sources, index, search, evaluate, call and run tools.

Errors that toolnav raises on purpose are printed as one message and exit code 1; `--debug`
shows the traceback.

Example:
    toolnav add tools.json && toolnav index && toolnav search "weather in Paris" -k 5
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from toolnav.config import Settings
from toolnav.errors import ToolnavError

__all__ = ["app", "main"]

app = typer.Typer(help="Find, validate and call the right tools among thousands.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
error_console = Console(stderr=True)


class _State:
    settings: Settings = Settings()
    debug: bool = False


state = _State()

HomeOption = Annotated[Path | None, typer.Option(
    "--home", envvar="TOOLNAV_HOME", help="State directory (default ./.toolnav).")]


@app.callback()
def _configure(
    home: HomeOption = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    state.settings = Settings.from_env(home=home)
    state.debug = debug


def main() -> None:
    """Entry point: run the app, turning toolnav errors into one clear line and exit code 1."""
    try:
        app(standalone_mode=False)
    except ToolnavError as error:
        if state.debug:
            raise
        error_console.print(f"[bold red]error:[/] {error}", highlight=False)
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        error_console.print("aborted")
        sys.exit(130)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except Exception as error:  # click usage errors carry their own exit codes
        import click

        if isinstance(error, click.ClickException):
            error.show()
            sys.exit(error.exit_code)
        raise
