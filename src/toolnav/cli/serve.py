"""`toolnav serve` (the MCP gateway over stdio or Streamable HTTP, with durable agent tasks) and
`toolnav status` (what a running server reports). The server itself is `toolnav.server`'s; this
module reads options, sets up logging, starts the task worker in-process and hands over.

Example:
    toolnav add servers.json && toolnav serve --http 127.0.0.1:8080 --tokens tokens.json
    toolnav serve --agents examples/agents.toml --tasks-db postgresql://u@db/toolnav
    toolnav status --url http://127.0.0.1:8080 --token "$TOKEN"
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from toolnav.cli._common import console, error_console, open_runtime, progress, state
from toolnav.errors import ConfigError, EmptyCatalog

__all__ = ["parse_listen_address", "serve", "status"]

DEFAULT_PORT = 8080
# Two beat one even on two cores (bench/server.py at 10,000 tools: 150-199 against 142-179
# search_tools requests/s): while one child waits for its next request, the other searches.
DEFAULT_HTTP_SEARCH_PROCESSES = 2


def parse_listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (host 127.0.0.1); ``[::1]:PORT`` for IPv6.

    Raises:
        ConfigError: not an address with a port in 1-65535.
    """
    host, _, port_text = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"--http {text!r}: expected HOST:PORT such as 127.0.0.1:8080"
                          ) from None
    if not 0 < port < 65536:
        raise ConfigError(f"--http {text!r}: port must be in 1-65535")
    return host, port


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("toolnav")
    except PackageNotFoundError:
        return ""


def serve(
    http: Annotated[str | None, typer.Option(
        "--http", help="Serve Streamable HTTP on HOST:PORT (default: stdio).")] = None,
    config: Annotated[list[Path] | None, typer.Option(
        "--config", help="An mcpServers file whose servers are added to the catalog first "
        "(repeatable).")] = None,
    expose: Annotated[str, typer.Option(
        help="search: search_tools, call_tool, get_tool_schema; all: also every tool "
        "directly.")] = "search",
    tokens: Annotated[Path | None, typer.Option(
        "--tokens", help="Bearer-token file (JSON or TOML) with namespace scopes; HTTP only."
    )] = None,
    allow_origin: Annotated[list[str] | None, typer.Option(
        "--allow-origin", help="Browser Origin to accept besides loopback ones (repeatable; "
        "http://host:* for any port).")] = None,
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", help="Host header to accept besides loopback ones (repeatable).")
    ] = None,
    public_url: Annotated[str | None, typer.Option(
        "--public-url", help="The MCP endpoint URL as clients reach it (behind a proxy).")
    ] = None,
    max_body_bytes: Annotated[int, typer.Option(
        "--max-body-bytes", min=1024, help="Larger HTTP request bodies get 413.")
    ] = 1024 * 1024,
    sync_interval: Annotated[float, typer.Option(
        "--sync-interval", min=0.1, help="Seconds between re-listings of each downstream.")
    ] = 60.0,
    page_size: Annotated[int, typer.Option(
        "--page-size", min=1, help="Tools per tools/list page (with --expose all).")] = 100,
    insecure_no_auth: Annotated[bool, typer.Option(
        "--insecure-no-auth", help="Allow a non-loopback address without --tokens.")] = False,
    agents_file: Annotated[Path | None, typer.Option(
        "--agents", envvar="TOOLNAV_AGENTS", help="Agent profile file (TOML or JSON) for "
        "submit_task; default: one agent on the TOOLNAV_LLM_* settings.")] = None,
    tasks_db: Annotated[str | None, typer.Option(
        "--tasks-db", envvar="TOOLNAV_TASKS_DB", help="Task database: postgresql://... for "
        "replicas sharing tasks (default: <home>/tasks.sqlite).")] = None,
    no_tasks: Annotated[bool, typer.Option(
        "--no-tasks", help="Serve no task tools and run no task worker.")] = False,
    search_processes: Annotated[int | None, typer.Option(
        "--search-processes", min=0, help="Child processes that run searches beside the event "
        "loop (0: worker threads; default: 2 with --http, 0 on stdio).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log every call.")] = False,
) -> None:
    """Serve the catalog as one MCP server: semantic search_tools, validated call_tool, and
    durable agent tasks (submit_task, get_task, cancel_task, list_tasks, MCP Tasks)."""
    import anyio

    from toolnav.server import (
        EXPOSE_MODES,
        CatalogSync,
        Gateway,
        HTTPOptions,
        configure_server_process,
        serve_http,
        serve_stdio,
    )
    from toolnav.server.auth import StaticTokenVerifier, load_tokens
    from toolnav.server.runtime_backend import RuntimeBackend

    if expose not in EXPOSE_MODES:  # before the catalog is opened: fail fast
        raise ConfigError(f"--expose {expose!r}: choose one of {', '.join(EXPOSE_MODES)}")
    listen = parse_listen_address(http) if http else None
    if tokens and listen is None:
        raise ConfigError("--tokens applies to --http; a stdio server trusts its parent "
                          "process")
    if listen and not _is_loopback(listen[0]) and not tokens and not insecure_no_auth:
        raise ConfigError(f"--http {http}: a non-loopback address needs --tokens (or "
                          "--insecure-no-auth if something in front authenticates)")
    grants = load_tokens(tokens) if tokens else None
    with open_runtime() as toolnav:
        for path in config or ():
            change = toolnav.catalog.add_source(path)
            error_console.print(f"{change.source}: {len(change.added)} added, "
                                f"{len(change.updated)} updated, {len(change.removed)} removed")
        if len(toolnav.catalog) == 0:
            raise EmptyCatalog("the catalog is empty: add tools with `toolnav add SOURCE` or "
                               "pass --config servers.json")
        if search_processes is None:
            search_processes = DEFAULT_HTTP_SEARCH_PROCESSES if listen else 0
        with progress() as update:  # index and load before the first client waits for it
            router = toolnav.router(state.settings.route, update)
            if not search_processes:  # else the search processes load their own
                router.warm_up()
        configure_server_process(logging.INFO if verbose or listen else logging.WARNING)
        syncs: list[CatalogSync] = []

        async def changed(server: str) -> None:  # the pool's list_changed hook
            syncs[0].notify_changed(server)

        async def run() -> None:
            async with RuntimeBackend(toolnav, on_tools_changed=changed,
                                      search_processes=search_processes) as backend, \
                    _task_tools(toolnav, backend, agents_file, tasks_db, no_tasks) as tasks:
                gateway = Gateway(backend, expose=expose, page_size=page_size,
                                  version=_package_version(), tasks=tasks)
                syncs.append(CatalogSync(backend, interval_seconds=sync_interval,
                                         metrics=gateway.metrics))
                if listen is None:
                    await serve_stdio(gateway, syncs[0])
                    return
                options = HTTPOptions(host=listen[0], port=listen[1], public_url=public_url,
                                      allowed_origins=tuple(allow_origin or ()),
                                      allowed_hosts=tuple(allow_host or ()),
                                      max_body_bytes=max_body_bytes)
                verifier = (StaticTokenVerifier(grants, resource=options.endpoint)
                            if grants else None)
                error_console.print(f"toolnav serving {len(toolnav.catalog)} tools at "
                                    f"{options.endpoint}"
                                    f"{' (bearer tokens required)' if verifier else ''}")
                await serve_http(gateway, options, verifier, syncs[0])

        anyio.run(run)


@contextlib.asynccontextmanager
async def _task_tools(toolnav: Any, backend: Any, agents_file: Path | None,
                      tasks_db: str | None, disabled: bool) -> AsyncIterator[Any]:
    """The task worker running in this process (agents and tool tasks) and the task tools
    over its store; None with --no-tasks. Without a profile file and without an LLM endpoint
    there is no agent: tool tasks still run, submit_task says what to configure."""
    if disabled:
        yield None
        return
    from toolnav.agent.loop import CurrentRouter
    from toolnav.server.task_tools import TaskTools, tool_runner
    from toolnav.tasks import TaskWorker, build_agents, load_profiles, sqlite_url

    llm = state.settings.llm
    profiles = load_profiles(agents_file, llm)
    if agents_file is None and not (llm.base_url and llm.model):
        profiles = {}
    agents = build_agents(profiles, CurrentRouter(toolnav), backend.executor,
                          trace_dir=state.settings.home / "traces", feedback=toolnav.catalog)
    worker = TaskWorker(tasks_db or sqlite_url(state.settings.home), agents, profiles,
                        tool_runner=tool_runner(backend))
    async with worker:
        assert worker.store is not None
        yield TaskTools(worker.store, ttl_seconds=worker.retention_seconds,
                        agent_scopes={name: profile.namespaces
                                      for name, profile in profiles.items()},
                        sampling_agents=frozenset(name for name, profile in profiles.items()
                                                  if profile.sampling))


def status(
    url: Annotated[str, typer.Option(
        "--url", help="The server's base or /mcp URL.")] = f"http://127.0.0.1:{DEFAULT_PORT}",
    token: Annotated[str | None, typer.Option(
        "--token", envvar="TOOLNAV_TOKEN", help="Bearer token (or TOOLNAV_TOKEN).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a running server's health, downstream states and request counts."""
    report = fetch_status(url, token)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        _print_status(report)
    if not report["ready"]:
        raise typer.Exit(2)


def fetch_status(url: str, token: str | None) -> dict[str, Any]:
    """Health, readiness and the main metrics of the server at *url*.

    Raises:
        ConfigError: the server cannot be reached or refuses the token.
    """
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    base = url.rstrip("/").removesuffix("/mcp")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
            health = client.get("/healthz")
            ready = client.get("/readyz")
            metrics = client.get("/metrics")
    except httpx.HTTPError as error:
        raise ConfigError(f"cannot reach a toolnav server at {base}: {error}") from None
    if ready.status_code == 401 or metrics.status_code == 401:
        raise ConfigError(f"{base} requires a bearer token: pass --token or set TOOLNAV_TOKEN")
    if health.status_code != 200 or metrics.status_code != 200:
        raise ConfigError(f"{base} does not look like a toolnav server (/healthz answered "
                          f"{health.status_code}, /metrics {metrics.status_code})")
    readiness = ready.json()
    counters: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(metrics.text):
        for sample in family.samples:
            if sample.name in ("toolnav_requests_total", "toolnav_downstream_calls_total"):
                key = sample.labels.get("tool") or sample.labels.get("downstream", "")
                row = counters.setdefault(f"{sample.name}|{key}", {})
                row[sample.labels["outcome"]] = sample.value
    return {"url": base, "healthy": health.json().get("status") == "ok",
            "ready": readiness["ready"], "downstreams": readiness["downstreams"],
            "search": readiness.get("search"),
            "requests": {key.split("|", 1)[1]: row for key, row in counters.items()
                         if key.startswith("toolnav_requests_total")},
            "downstream_calls": {key.split("|", 1)[1]: row for key, row in counters.items()
                                 if key.startswith("toolnav_downstream_calls_total")}}


def _print_status(report: dict[str, Any]) -> None:
    console.print(f"[bold]{report['url']}[/]: {'healthy' if report['healthy'] else 'unhealthy'},"
                  f" {'ready' if report['ready'] else '[red]not ready[/]'}")
    table = Table("downstream", "state", "tools", "reconnects", "detail", box=None)
    for name, info in report["downstreams"].items():
        table.add_row(name, info["state"], str(info["tools"]), str(info["reconnects"]),
                      info["detail"])
    console.print(table)
    if search := report["search"]:
        where = (f"{search['running']} of {search['processes']} search processes running, "
                 f"{search['restarts']} restarts, {search['fallbacks']} searches answered "
                 "in the server process" if search["processes"] else "on worker threads")
        console.print(f"searches: {where}")
    for title, rows in (("exposed tool", report["requests"]),
                        ("downstream", report["downstream_calls"])):
        counts = Table(title, "outcomes", box=None)
        for key, outcomes in sorted(rows.items()):
            counts.add_row(key, ", ".join(f"{outcome} {int(value)}"
                                          for outcome, value in sorted(outcomes.items())))
        console.print(counts)
