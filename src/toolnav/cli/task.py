"""`toolnav task submit|get|list|cancel|work`: durable agent tasks in the home's task database.

The commands read and write ``<home>/tasks.sqlite``; a task submitted here waits, persisted,
until `toolnav task work` (a worker running the home's agents) runs it. Agent names come from
the profile file given with ``--agents`` (or ``TOOLNAV_AGENTS``), else the one ``default``
agent, which uses the ``TOOLNAV_LLM_*`` settings.

Example:
    toolnav task work --agents examples/agents.toml &
    toolnav task submit "convert 100 F to Celsius" --agent agent-1
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
    from toolnav.cli._common import state
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


@task_app.command()
def work(agents_file: AgentsOption = None) -> None:
    """Run the home's agents on their tasks until interrupted (queued tasks, and those a
    stopped worker left unfinished, resume after their last completed step)."""
    import anyio

    from toolnav.agent.loop import CurrentRouter
    from toolnav.cli._common import error_console, open_runtime, progress, require_tools, state
    from toolnav.tasks import TaskWorker, build_agents, load_profiles, sqlite_url

    profiles = load_profiles(agents_file, state.settings.llm)
    with open_runtime() as toolnav:
        require_tools(toolnav)
        with progress() as update:  # index now, not while the first task waits
            toolnav.router(state.settings.route, update)

        async def serve() -> None:
            async with toolnav.executor() as executor:
                agents = build_agents(profiles, CurrentRouter(toolnav), executor,
                                      trace_dir=state.settings.home / "traces",
                                      feedback=toolnav.catalog)
                async with TaskWorker(sqlite_url(state.settings.home), agents, profiles):
                    error_console.print(f"working on the tasks of {', '.join(profiles)}; "
                                        "Ctrl-C stops (unfinished tasks resume on restart)")
                    await anyio.sleep_forever()

        try:
            anyio.run(serve)
        except KeyboardInterrupt:
            error_console.print("stopped")
