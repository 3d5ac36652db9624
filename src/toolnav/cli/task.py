"""`toolnav task submit|get|list|cancel|work`: durable agent tasks, in the home or on a server.

Without ``--server`` the commands read and write ``<home>/tasks.sqlite``; a task submitted
here waits, persisted, until `toolnav task work` (or `toolnav serve` on the same home) runs it.
Agent names come from the profile file given with ``--agents`` (or ``TOOLNAV_AGENTS``), else
the one ``default`` agent, which uses the ``TOOLNAV_LLM_*`` settings. With ``--server URL``
(or ``TOOLNAV_SERVER``) they call a running server's task tools over Streamable HTTP instead,
with ``--token`` (or ``TOOLNAV_TOKEN``) as the bearer token.

Example:
    toolnav task work --agents examples/agents.toml &
    toolnav task submit "convert 100 F to Celsius" --agent agent-1
    toolnav task get 3f2a... --server http://127.0.0.1:8080 --token "$TOKEN"
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
ServerOption = Annotated[str | None, typer.Option(
    "--server", envvar="TOOLNAV_SERVER", help="A running toolnav server's URL (default: the "
    "home's task database).")]
TokenOption = Annotated[str | None, typer.Option(
    "--token", envvar="TOOLNAV_TOKEN", help="Bearer token for --server.")]


def _call(method: str, *args: Any, agents_file: Path | None = None) -> Any:
    """Open the home's task store, await one of its methods, close it (a `TaskInfo` becomes
    its dict, a list of them a list of dicts)."""
    from toolnav._blocking import BlockingRunner
    from toolnav.cli._common import state
    from toolnav.tasks import DBOSTaskStore, TaskInfo, load_profiles, sqlite_url

    profiles = load_profiles(agents_file, state.settings.llm)

    async def call() -> Any:
        async with DBOSTaskStore(sqlite_url(state.settings.home), list(profiles)) as store:
            return await getattr(store, method)(*args)

    with BlockingRunner() as runner:
        found = runner.call(call)
    if isinstance(found, TaskInfo):
        return found.to_dict()
    if isinstance(found, list):
        return [info.to_dict() for info in found]
    return found


def _remote(server: str, token: str | None, tool: str, arguments: dict[str, Any]) -> Any:
    """Call one of the server's task tools; its structured result.

    Raises:
        TaskError: the tool answered with an error (its message), or the server cannot be
            reached.
    """
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from toolnav._blocking import BlockingRunner
    from toolnav.errors import TaskError

    url = server.rstrip("/")
    url = url if url.endswith("/mcp") else f"{url}/mcp"
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def call() -> Any:
        http = httpx2.AsyncClient(headers=headers, timeout=60)
        async with Client(streamable_http_client(url, http_client=http)) as client:
            return await client.call_tool(tool, arguments)

    with BlockingRunner() as runner:
        try:
            result = runner.call(call)
        except Exception as error:  # transport, auth and protocol failures of the SDK
            raise TaskError(f"cannot call {tool} on {url}: {type(error).__name__}: {error} "
                            "(check --server and --token)") from None
    if result.is_error:
        raise TaskError(" ".join(block.text for block in result.content
                                 if getattr(block, "text", None)))
    return result.structured_content

@task_app.command()
def submit(
    task: Annotated[str, typer.Argument(help="What the agent should do.")],
    agent: Annotated[str | None, typer.Option(help="Agent profile (default: the first).")
                     ] = None,
    metadata: Annotated[str | None, typer.Option(help="A JSON object kept with the task.")
                        ] = None,
    agents_file: AgentsOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Persist a task and print its id."""
    from toolnav.errors import TaskError

    try:
        extra = json.loads(metadata) if metadata else None
    except json.JSONDecodeError as error:
        raise TaskError(f"--metadata is not JSON: {error}") from None
    if server:
        arguments = {"task": task, **({"agent": agent} if agent else {}),
                     **({"metadata": extra} if extra is not None else {})}
        console.print(_remote(server, token, "submit_task", arguments)["id"])
        return
    console.print(_call("submit", task, agent, extra, agents_file=agents_file))


@task_app.command()
def get(
    task_id: Annotated[str, typer.Argument(help="The task id.")],
    agents_file: AgentsOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Show a task: status, steps so far, result or error (JSON)."""
    info = (_remote(server, token, "get_task", {"id": task_id}) if server
            else _call("get", task_id, agents_file=agents_file))
    console.print_json(json.dumps(info))


@task_app.command(name="list")
def list_tasks(
    status: Annotated[str | None, typer.Option(help="Only tasks with this status.")] = None,
    agent: Annotated[str | None, typer.Option(help="Only tasks of this agent.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
    agents_file: AgentsOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """List tasks, newest first: id, status, agent, task text."""
    if server:
        arguments = {"limit": limit, **({"status": status} if status else {}),
                     **({"agent": agent} if agent else {})}
        infos = _remote(server, token, "list_tasks", arguments)["tasks"]
    else:
        infos = _call("list", status, agent, limit, agents_file=agents_file)
    for info in infos:
        console.print(f"{info['id']}  {info['status']:<10} {info['agent']:<12} "
                      f"{info['task'][:60]}", highlight=False)


@task_app.command()
def cancel(
    task_id: Annotated[str, typer.Argument(help="The task id.")],
    agents_file: AgentsOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Cancel a queued or working task."""
    info = (_remote(server, token, "cancel_task", {"id": task_id}) if server
            else _call("cancel", task_id, agents_file=agents_file))
    console.print(f"{info['id']} {info['status']}")


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
