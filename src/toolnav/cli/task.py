"""`toolnav task submit|get|list|cancel`: durable agent tasks in the local home's task database.

The commands read and write ``<home>/tasks.sqlite`` (the database `toolnav serve` runs its
tasks from); a task submitted here waits, persisted, until a worker serving its agent runs it.
Agent names come from the profile file given with ``--agents`` (or ``TOOLNAV_AGENTS``),
else the one ``default`` agent. The lead's `app` mounts this as ``app.add_typer(task_app,
name="task")``.

Example:
    toolnav task submit "convert 100 F to Celsius" --agent agent-1
    toolnav task get 3f2c...
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

__all__ = ["task_app"]

task_app = typer.Typer(help="Submit durable agent tasks and follow them.", no_args_is_help=True)
console = Console()

AgentsOption = Annotated[Path | None, typer.Option(
    "--agents", envvar="TOOLNAV_AGENTS", help="Agent profile file (TOML or JSON).")]


def _call(method: str, *args: Any, agents_file: Path | None = None) -> Any:
    """Open the home's task store, await one of its methods, close it."""
    from toolnav._blocking import BlockingRunner
    from toolnav.cli.app import state
    from toolnav.tasks import DBOSTaskStore, load_profiles, sqlite_url

    profiles = load_profiles(agents_file, state.settings.llm)

    async def call() -> Any:
        async with DBOSTaskStore(sqlite_url(state.settings.home), list(profiles)) as store:
            return await getattr(store, method)(*args)

    with BlockingRunner() as runner:
        return runner.call(call)


@task_app.command()
def submit(
    task: Annotated[str, typer.Argument(help="What the agent should do.")],
    agent: Annotated[str | None, typer.Option(help="Agent profile (default: the first).")
                     ] = None,
    metadata: Annotated[str | None, typer.Option(help="A JSON object kept with the task.")
                        ] = None,
    agents_file: AgentsOption = None,
) -> None:
    """Persist a task and print its id."""
    from toolnav.errors import TaskError

    try:
        extra = json.loads(metadata) if metadata else None
    except json.JSONDecodeError as error:
        raise TaskError(f"--metadata is not JSON: {error}") from None
    console.print(_call("submit", task, agent, extra, agents_file=agents_file))


@task_app.command()
def get(
    task_id: Annotated[str, typer.Argument(help="The task id.")],
    agents_file: AgentsOption = None,
) -> None:
    """Show a task: status, steps so far, result or error (JSON)."""
    console.print_json(json.dumps(_call("get", task_id, agents_file=agents_file).to_dict()))


@task_app.command(name="list")
def list_tasks(
    status: Annotated[str | None, typer.Option(help="Only tasks with this status.")] = None,
    agent: Annotated[str | None, typer.Option(help="Only tasks of this agent.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
    agents_file: AgentsOption = None,
) -> None:
    """List tasks, newest first: id, status, agent, task text."""
    for info in _call("list", status, agent, limit, agents_file=agents_file):
        console.print(f"{info.id}  {info.status:<10} {info.agent:<12} {info.task[:60]}",
                      highlight=False)


@task_app.command()
def cancel(
    task_id: Annotated[str, typer.Argument(help="The task id.")],
    agents_file: AgentsOption = None,
) -> None:
    """Cancel a queued or working task."""
    info = _call("cancel", task_id, agents_file=agents_file)
    console.print(f"{info.id} {info.status}")
