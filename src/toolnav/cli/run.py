"""Calling tools: `toolnav call` (validate + execute one call), `run` (the agent loop), `trace`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from toolnav._blocking import BlockingRunner
from toolnav.cli._common import (
    console,
    error_console,
    first_line,
    open_runtime,
    progress,
    read_json_argument,
    require_tools,
    state,
)
from toolnav.errors import ConfigError, ToolExecutionError

__all__ = ["call", "run", "trace"]


def call(
    name: Annotated[str, typer.Argument(help="The tool's name in the catalog.",
                                        show_default=False)],
    args: Annotated[str, typer.Option(
        "--args", help="Arguments: a JSON object, @file.json, or - to read standard input."
    )] = "{}",
    allow_unknown: Annotated[bool, typer.Option(
        "--allow-unknown", help="Accept arguments the schema does not declare.")] = False,
    timeout: Annotated[float, typer.Option(min=0.001, help="Seconds.")] = 30.0,
) -> None:
    """Validate arguments against a tool's schema and execute it; exit 1 on a tool error."""
    from toolnav.validate import validate_arguments

    text = read_json_argument(args, "--args")
    with open_runtime() as toolnav:
        tool = toolnav.catalog.get(name)
        arguments = validate_arguments(tool, text, allow_unknown=allow_unknown)
        with BlockingRunner() as runner, \
                runner.wrap(toolnav.executor(timeout_seconds=timeout)) as executor:
            result = runner.call(executor.execute, tool, arguments)
        toolnav.catalog.record_outcome(tool.name, not result.is_error)
    if result.is_error:
        raise ToolExecutionError(result.content)
    print(result.content)


def run(
    request: Annotated[str, typer.Argument(help="What you want done, in plain words.",
                                           show_default=False)],
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="Tools routed per request.")] = 5,
    budget: Annotated[int, typer.Option(min=1, help="Token budget for tool definitions.")
                      ] = 3000,
    max_repairs: Annotated[int, typer.Option(min=0, help="Invalid calls to repair.")] = 2,
    max_steps: Annotated[int, typer.Option(min=1, help="LLM turns.")] = 8,
) -> None:
    """Answer a request with tools: route, ask the LLM, validate, execute, repeat.

    Exits 0 when answered, 3 when the repair or step bound ended the run, 1 on errors.
    """
    from toolnav.agent import Agent, AgentParams

    params = AgentParams(k=k, token_budget=budget, max_repairs=max_repairs, max_steps=max_steps)
    with open_runtime() as toolnav:
        require_tools(toolnav)
        with progress() as update:
            router = toolnav.router(state.settings.route, update)
        executor = toolnav.executor()
        # Raises at once, saying what to set, when no LLM endpoint is configured.
        agent = Agent(router, state.settings.llm, trace_dir=state.settings.home / "traces",
                      params=params, feedback=toolnav.catalog, executor=executor)
        # Executor and agent are each entered and closed in one task on one loop.
        with BlockingRunner() as runner, runner.wrap(executor), runner.wrap(agent):
            outcome = runner.call(agent.run, request)
    for made in outcome.calls:
        marker = "[red]error[/]" if made["result"]["is_error"] else "[green]ok[/]"
        console.print(f"{marker} {made['tool']}({json.dumps(made['arguments'])}) -> "
                      f"{first_line(made['result']['content'])}", highlight=False)
    console.print(f"[bold]{outcome.status}[/] after {outcome.steps} LLM turn(s), "
                  f"{outcome.repairs} repair(s)")
    console.print(outcome.answer, highlight=False)
    error_console.print(f"trace: {outcome.trace_path}")
    if outcome.status != "answered":
        raise typer.Exit(3)  # the loop hit its repair or step bound: scripts should know


def trace(
    file: Annotated[Path | None, typer.Argument(help="A trace file (default: the latest).",
                                                show_default=False)] = None,
) -> None:
    """Show the steps of an agent run from its JSONL trace."""
    if file is None:
        traces = sorted((state.settings.home / "traces").glob("*.jsonl"),
                        key=lambda path: path.stat().st_mtime)
        if not traces:
            raise ConfigError(f"no traces under {state.settings.home / 'traces'}; "
                              "`toolnav run REQUEST` writes one per run")
        file = traces[-1]
    if not file.is_file():
        raise ConfigError(f"trace file {file} does not exist")
    console.print(f"[dim]{file}[/]")
    for number, line in enumerate(file.read_text(encoding="utf-8",
                                                 errors="replace").splitlines(), 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise ConfigError(f"{file}:{number} is not a JSON line; is this a toolnav trace?"
                              ) from None
        if not isinstance(record, dict):
            raise ConfigError(f"{file}:{number} is not a trace record (a JSON object)")
        console.print(f"[bold]{record.get('event', '?')!s:<10}[/] "
                      f"{_trace_summary(record)}", highlight=False)


def _trace_summary(record: dict[str, Any]) -> str:
    """One line per event; a record missing a field says so instead of failing."""
    try:
        return _summary_of(record)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as error:
        return f"(incomplete {record.get('event', '?')} record: {type(error).__name__} {error})"


def _summary_of(record: dict[str, Any]) -> str:
    event = record.get("event")
    if event == "route":
        return ", ".join(f"{c['tool']} {c['score']:.3f}" for c in record["candidates"])
    if event == "render":
        return f"{len(record['tools'])} tools, ~{record['tokens']} tokens"
    if event == "llm":
        output = record["output"]
        calls = [f"{c['function']['name']}({c['function']['arguments']})"
                 for c in output.get("tool_calls") or []]
        return "; ".join(calls) or first_line(output.get("content") or "")
    if event == "validation":
        return "ok" if record["ok"] else first_line(record["error"].split("\n", 1)[-1])
    if event == "execution":
        result = record["result"]
        return ("error: " if result["is_error"] else "") + first_line(result["content"])
    if event == "outcome":
        return f"{record['status']}: {first_line(record['answer'])}"
    if event == "error":
        return first_line(str(record.get("error", "")))
    return first_line(str(record.get("request", "")))
