"""The `toolnav` command: add sources, index, search, evaluate, call and run tools.

Errors that toolnav raises on purpose are printed as one message and exit code 1; `--debug`
shows the traceback. Settings are read once here (`Settings.from_env`) and the process is
configured once (`toolnav.runtime.configure_process`); commands live in one module per group.

Example:
    toolnav add tools.json && toolnav index && toolnav search "weather in Paris" -k 5
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer
from rich.markup import escape

from toolnav.cli import catalog, demo, evaluate, run, search, serve, task, tune
from toolnav.cli._common import HomeOption, error_console, state
from toolnav.config import Settings
from toolnav.errors import ToolnavError
from toolnav.runtime import configure_process

__all__ = ["app", "main"]

app = typer.Typer(help="Find, validate and call the right tools among thousands.",
                  no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None)
app.command()(catalog.add)
app.command()(catalog.remove)
app.command("tools")(catalog.list_tools)
app.command()(catalog.index)
app.command()(search.search)
app.command("eval")(evaluate.evaluate)
app.command()(tune.tune)
app.command()(run.call)
app.command()(run.run)
app.command()(run.trace)
app.command()(demo.demo)
app.command()(serve.serve)
app.command()(serve.status)
app.add_typer(task.task_app, name="task")


def _version(value: bool) -> None:
    if value:
        try:
            print(f"toolnav {version('toolnav')}")
        except PackageNotFoundError:  # run from a source tree without installing
            print("toolnav (not installed)")
        raise typer.Exit()


@app.callback()
def _configure(
    home: HomeOption = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    _: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                    help="Print the version and exit.")] = False,
) -> None:
    state.settings = Settings.from_env(home=home)
    state.debug = debug
    configure_process(state.settings)


def main() -> None:
    """Entry point: run the app, turning toolnav errors into one clear line and exit code 1."""
    try:
        # Without standalone mode click returns a command's exit code instead of exiting.
        code = app(standalone_mode=False)
    except ToolnavError as error:
        if state.debug:
            raise
        # The message is plain text: brackets in it (paths, extras) are not rich markup.
        error_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False,
                            soft_wrap=True)
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        error_console.print("aborted")
        sys.exit(130)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except Exception as error:
        # Usage errors (typer's vendored click) know how to show themselves and their code.
        if callable(getattr(error, "show", None)) and isinstance(
                getattr(error, "exit_code", None), int):
            error.show()
            sys.exit(error.exit_code)
        raise
    sys.exit(code if isinstance(code, int) else 0)
