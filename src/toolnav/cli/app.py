"""The `toolnav` command: add sources, index, search, evaluate, call and run tools.

Errors that toolnav raises on purpose are printed as one message and exit code 1; `--debug`
shows the traceback.

Example:
    toolnav add tools.json && toolnav index && toolnav search "weather in Paris" -k 5
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
from rich.table import Table

from toolnav.catalog import Catalog, IndexReport
from toolnav.config import Settings
from toolnav.embed import Embedder, MiniLMEmbedder, load_default_embedder
from toolnav.errors import ConfigError, EmptyCatalog, ToolExecutionError, ToolnavError

if TYPE_CHECKING:
    from toolnav.execute import Executor
    from toolnav.route import RouteResult

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
        # Without standalone mode click returns a command's exit code instead of exiting.
        code = app(standalone_mode=False)
    except ToolnavError as error:
        if state.debug:
            raise
        error_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
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


def _open_catalog() -> Catalog:
    return Catalog.open(state.settings.home, embedder=_home_embedder())


def _executor(catalog: Catalog, **limits: float) -> Executor:
    """An executor whose MCP servers come from the catalog; their stderr goes to a log file
    in the home, never to the terminal."""
    from toolnav.execute import Executor

    return Executor(catalog.server_config, stderr_log=state.settings.home / "downstream.log",
                    **limits)


def _home_embedder() -> Embedder | None:
    """The home's model with the request encoder TOOLNAV_REQUEST_ENCODER names, if it names
    one (None: the catalog loads the model's default when first needed)."""
    if state.settings.request_encoder is None:
        return None
    return load_default_embedder(state.settings.home,
                                 request_encoder=state.settings.request_encoder)


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on stderr; yields ``update(stage, done, total)``."""
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=error_console,
                   transient=False)
    with bar:
        task = bar.add_task("embedding tools", total=None)
        yield lambda stage, done, total: bar.update(task, description=stage, completed=done,
                                                    total=total)


def _build_index(catalog: Catalog, *, force: bool = False) -> IndexReport:
    with _progress() as update:
        return catalog.build_index(lambda done, total: update("embedding tools", done, total),
                                   force=force)


@app.command()
def add(
    sources: Annotated[list[str], typer.Argument(help=(
        "Tool sources: .json/.jsonl files, OpenAPI documents, mcpServers configs, .py files, "
        "dataset folders, or python:package.module."))],
    name: Annotated[str | None, typer.Option(
        "--name", help="Source label (default: file stem or module name).")] = None,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="Where an OpenAPI document's API is served.")] = None,
) -> None:
    """Add tools from sources, or re-sync sources added before (adds, updates, removes)."""
    if name and len(sources) > 1:
        raise ConfigError("--name applies to one source; add several sources one at a time")
    with _open_catalog() as catalog:
        for source in sources:
            change = catalog.add_source(source, name=name, base_url=base_url)
            console.print(
                f"[bold]{change.source}[/]: {len(change.added)} added, {len(change.updated)} "
                f"updated, {change.unchanged} unchanged, {len(change.removed)} removed")
            for original, final in change.renamed.items():
                console.print(f"  {original} is also defined by another source; "
                              f"stored as [bold]{final}[/]")
        console.print(f"catalog: {len(catalog)} tools in {len(catalog.sources())} sources")


@app.command()
def remove(names: Annotated[list[str], typer.Argument(help="Tool names to remove.")]) -> None:
    """Remove tools by name."""
    with _open_catalog() as catalog:
        for tool_name in names:
            catalog.get(tool_name)  # a precise error for a typo, before anything changes
        console.print(f"removed {catalog.remove(names)} tools")


@app.command("tools")
def list_tools(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the tools in the catalog."""
    with _open_catalog() as catalog:
        tools = catalog.tools()
    if as_json:
        print(json.dumps([tool.to_dict() for tool in tools], indent=2, ensure_ascii=False))
        return
    table = Table("name", "source", "description")
    for tool in tools:
        table.add_row(tool.name, tool.source, _first_line(tool.description))
    console.print(table)


@app.command()
def index(
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if unchanged.")] = False,
) -> None:
    """Embed new or changed tools and build the vector index."""
    with _open_catalog() as catalog:
        report = _build_index(catalog, force=force)
    state_text = ("updated in place" if report.updated_in_place
                  else "rebuilt" if report.rebuilt else "unchanged, kept")
    console.print(f"{report.tools} tools: {report.embedded} embedded, {report.cached} from the "
                  f"embedding cache; index {state_text}; {report.seconds:.2f} s")


@app.command()
def search(
    request: Annotated[str, typer.Argument(help="What the user wants done.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="How many tools.")] = 5,
    method: Annotated[str, typer.Option(help="hybrid, dense or bm25.")] = "hybrid",
    schema: Annotated[bool, typer.Option("--schema", help="Show input schemas.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find the tools that fit a request."""
    with _open_catalog() as catalog:
        if len(catalog) == 0:
            raise EmptyCatalog("the catalog is empty; add tools with `toolnav add SOURCE`")
        from toolnav.route import Router

        _build_index(catalog)
        router = Router.open(catalog, state.settings.route)
        result = router.route(request, k=k, method=method)
    if as_json:
        print(json.dumps(_result_json(result), indent=2, ensure_ascii=False))
        return
    _print_result(request, result, schema=schema)


@app.command("eval")
def evaluate(
    datasets: Annotated[list[Path], typer.Argument(help=(
        "Dataset folders (tools.jsonl + queries.jsonl); several are scored over the union of "
        "their catalogs."))],
    k: Annotated[str, typer.Option("--k", help="Comma-separated cut-offs.")] = "1,5,10",
    methods: Annotated[str, typer.Option("--methods", help="Comma-separated methods.")] = (
        "bm25,dense,hybrid"),
    plot: Annotated[Path | None, typer.Option("--plot", help="Write recall@k PNG here.")] = None,
    held_out: Annotated[bool, typer.Option(
        "--held-out", help="Score only requests `toolnav tune` does not train on.")] = False,
    abstention: Annotated[bool, typer.Option("--abstention", help=(
        "Instead: calibrate abstain_below on the tuning split with each request's gold tools "
        "removed, then measure it on the held-out requests."))] = False,
    abstention_target: Annotated[float, typer.Option(
        min=0.01, max=0.99, help="Share of gold-removed tuning requests to abstain on."
    )] = 0.8,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Score routing on labelled requests: recall@k, complete@k, NDCG@k, MRR."""
    from toolnav.embed import tuned_model_dir
    from toolnav.evaluation.evaluate import evaluate_datasets, plot_recall_curves

    if abstention:
        if plot or held_out:
            raise ConfigError("--abstention always calibrates on the tuning split and reports "
                              "the held-out requests; drop --plot and --held-out")
        _evaluate_abstention(datasets, abstention_target, as_json, _eval_embedder())
        return
    ks = _parse_ks(k)
    if not held_out and tuned_model_dir(state.settings.home):
        error_console.print("note: this home routes with a tuned model; requests it trained on "
                            "score too well; pass --held-out for an unbiased figure")
    with _progress() as update:
        report = evaluate_datasets(datasets, home=state.settings.home, ks=ks,
                                   embedder=_eval_embedder(),
                                   methods=_split(methods), held_out=held_out, progress=update)
    if plot:
        plot_recall_curves(report, plot)
        error_console.print(f"plot written to {plot}")
    if as_json:
        print(json.dumps([row.__dict__ for row in report.rows], indent=2))
        return
    for dataset in dict.fromkeys(row.dataset for row in report.rows):
        rows = [row for row in report.rows if row.dataset == dataset]
        table = Table("metric", *(row.method for row in rows),
                      title=f"{dataset}: {rows[0].queries} requests, {rows[0].catalog_size} "
                            "tools in the catalog")
        for metric in rows[0].metrics:
            table.add_row(metric, *(f"{row.metrics[metric]:.3f}" for row in rows))
        console.print(table)


def _eval_embedder() -> MiniLMEmbedder:
    """The home's model as routing uses it; says which request encoder that is."""
    embedder = load_default_embedder(state.settings.home,
                                     request_encoder=state.settings.request_encoder)
    error_console.print(f"requests are embedded by the {embedder.request_encoder} request "
                        "encoder (TOOLNAV_REQUEST_ENCODER=table|int8|fp32 chooses)")
    return embedder


def _evaluate_abstention(datasets: list[Path], target: float, as_json: bool,
                         embedder: MiniLMEmbedder) -> None:
    from toolnav.evaluation.abstention import evaluate_abstention

    with _progress() as update:
        threshold, reports = evaluate_abstention(datasets, home=state.settings.home,
                                                 embedder=embedder,
                                                 target=target, progress=update)
    if as_json:
        print(json.dumps({"threshold": threshold,
                          "held_out": {name: report.__dict__ for name, report in
                                       reports.items()}}, indent=2))
        return
    table = Table("held-out set", "requests", "abstained, gold removed", "abstained, normal",
                  "recall@5 lost", "separation (AUC)",
                  title=f"abstain_below = {threshold:.3f} (abstains on {target:.0%} of the "
                        "gold-removed tuning requests)")
    for name, report in reports.items():
        table.add_row(name, str(report.requests), f"{report.abstained_without_gold:.1%}",
                      f"{report.abstained_normal:.1%}", f"{report.recall_drop:.3f}",
                      f"{report.separation:.3f}")
    console.print(table)
    console.print(f"use it: TOOLNAV_ABSTAIN_BELOW={threshold:.3f}")


@app.command()
def tune(
    datasets: Annotated[list[Path] | None, typer.Argument(help=(
        "Dataset folders (tools.jsonl + queries.jsonl) whose tuning split to train on."))] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the pairs.")] = 2,
    learning_rate: Annotated[float, typer.Option(min=1e-7, help="AdamW peak rate.")] = 3e-5,
    batch_size: Annotated[int, typer.Option(min=2, help="Pairs per step.")] = 32,
    reset: Annotated[bool, typer.Option(
        "--reset", help="Delete the tuned model; go back to the bundled one.")] = False,
) -> None:
    """Fine-tune the embedding model on labelled requests; this home then routes with it.

    Trains on each dataset's tuning split (split "dev", or the even crc32(id) half where a
    dataset has no splits); `toolnav eval --held-out` scores the rest.
    """
    from toolnav.embed import TUNED_MODEL_DIR
    from toolnav.tuning.examples import train_table, tuning_examples
    from toolnav.tuning.model import tune_model

    target = state.settings.home / TUNED_MODEL_DIR
    if reset:
        shutil.rmtree(target, ignore_errors=True)
        console.print("tuned model removed; routing uses the bundled model")
        _reembed("bundled")
        return
    if not datasets:
        raise ConfigError("name at least one dataset folder to tune on, or pass --reset")
    with _progress() as update:
        examples = tuning_examples(datasets, home=state.settings.home, progress=update)
        report = tune_model(examples, target, epochs=epochs, learning_rate=learning_rate,
                            batch_size=batch_size,
                            progress=lambda step, total, loss: update(
                                f"tuning (loss {loss:.3f})", step, total))
    console.print(f"tuned on {report.examples} request-tool pairs, {report.steps} steps in "
                  f"{report.seconds:.0f} s (loss {report.first_loss:.3f} → "
                  f"{report.last_loss:.3f}); saved to {target}")
    with _progress() as update:
        table = train_table(datasets, examples, home=state.settings.home, model_dir=target,
                            progress=update)
    console.print(f"request table trained: requests are embedded without the transformer "
                  f"({table})")
    _reembed("tuned")


def _reembed(model: str) -> None:
    """Bring the home's catalog onto the model it now routes with (the cache serves repeats)."""
    with _open_catalog() as catalog:
        if len(catalog):
            result = _build_index(catalog)
            console.print(f"catalog re-embedded with the {model} model: {result.tools} tools")


@app.command()
def call(
    name: Annotated[str, typer.Argument(help="The tool's name in the catalog.")],
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.")] = "{}",
    allow_unknown: Annotated[bool, typer.Option(
        "--allow-unknown", help="Accept arguments the schema does not declare.")] = False,
    timeout: Annotated[float, typer.Option(min=0.001, help="Seconds.")] = 30.0,
) -> None:
    """Validate arguments against a tool's schema and execute it; exit 1 on a tool error."""
    from toolnav._blocking import BlockingRunner
    from toolnav.validate import validate_arguments

    with _open_catalog() as catalog:
        tool = catalog.get(name)
        arguments = validate_arguments(tool, args, allow_unknown=allow_unknown)
        with BlockingRunner() as runner, \
                runner.wrap(_executor(catalog, timeout_seconds=timeout)) as executor:
            result = runner.call(executor.execute, tool, arguments)
        catalog.record_outcome(tool.name, not result.is_error)
    if result.is_error:
        raise ToolExecutionError(result.content)
    print(result.content)


@app.command()
def run(
    request: Annotated[str, typer.Argument(help="What you want done, in plain words.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="Tools routed per request.")] = 5,
    budget: Annotated[int, typer.Option(min=1, help="Token budget for tool definitions.")
                      ] = 3000,
    max_repairs: Annotated[int, typer.Option(min=0, help="Invalid calls to repair.")] = 2,
    max_steps: Annotated[int, typer.Option(min=1, help="LLM turns.")] = 8,
) -> None:
    """Answer a request with tools: route, ask the LLM, validate, execute, repeat.

    Exits 0 when answered, 3 when the repair or step bound ended the run, 1 on errors.
    """
    from toolnav._blocking import BlockingRunner
    from toolnav.agent import Agent, AgentParams
    from toolnav.llm import ChatClient
    from toolnav.route import Router

    params = AgentParams(k=k, token_budget=budget, max_repairs=max_repairs, max_steps=max_steps)
    with ChatClient(state.settings.llm) as llm, _open_catalog() as catalog:
        if len(catalog) == 0:
            raise EmptyCatalog("the catalog is empty; add tools with `toolnav add SOURCE`")
        _build_index(catalog)
        with BlockingRunner() as runner, runner.wrap(_executor(catalog)) as executor:
            agent = Agent(Router.open(catalog, state.settings.route), llm,
                          trace_dir=state.settings.home / "traces", executor=executor,
                          params=params, feedback=catalog)
            outcome = runner.call(agent.run, request)
    for made in outcome.calls:
        marker = "[red]error[/]" if made["result"]["is_error"] else "[green]ok[/]"
        console.print(f"{marker} {made['tool']}({json.dumps(made['arguments'])}) -> "
                      f"{_first_line(made['result']['content'])}", highlight=False)
    console.print(f"[bold]{outcome.status}[/] after {outcome.steps} LLM turn(s), "
                  f"{outcome.repairs} repair(s)")
    console.print(outcome.answer, highlight=False)
    error_console.print(f"trace: {outcome.trace_path}")
    if outcome.status != "answered":
        raise typer.Exit(3)  # the loop hit its repair or step bound: scripts should know


@app.command()
def trace(
    file: Annotated[Path | None, typer.Argument(help="A trace file (default: the latest).")
                    ] = None,
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
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise ConfigError(f"{file}:{number} is not a JSON line; is this a toolnav trace?"
                              ) from None
        console.print(f"[bold]{record.get('event', '?'):<10}[/] {_trace_summary(record)}",
                      highlight=False)


def _trace_summary(record: dict) -> str:
    event = record.get("event")
    if event == "route":
        return ", ".join(f"{c['tool']} {c['score']:.3f}" for c in record["candidates"])
    if event == "render":
        return f"{len(record['tools'])} tools, ~{record['tokens']} tokens"
    if event == "llm":
        output = record["output"]
        calls = [f"{c['function']['name']}({c['function']['arguments']})"
                 for c in output.get("tool_calls") or []]
        return "; ".join(calls) or _first_line(output.get("content") or "")
    if event == "validation":
        return "ok" if record["ok"] else _first_line(record["error"].split("\n", 1)[-1])
    if event == "execution":
        result = record["result"]
        return ("error: " if result["is_error"] else "") + _first_line(result["content"])
    if event == "outcome":
        return f"{record['status']}: {_first_line(record['answer'])}"
    return _first_line(str(record.get("request", "")))


@app.command()
def demo(
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="Tools per request.")] = 3,
) -> None:
    """Index a catalog of Python standard-library tools and route example requests."""
    from toolnav.cli.demo_catalog import DEMO_REQUESTS, demo_sources
    from toolnav.route import Router

    home = state.settings.home / "demo"
    with Catalog.open(home, embedding_cache=state.settings.home / "embeddings.db") as catalog:
        for source in demo_sources():
            catalog.add_tools(source.tools, source=source.name)
        console.print(f"demo catalog: {len(catalog)} tools from {len(catalog.sources())} "
                      f"standard-library modules and examples, in {home}")
        report = _build_index(catalog)
        console.print(f"indexed: {report.embedded} embedded, {report.cached} cached, "
                      f"{report.seconds:.1f} s")
        router = Router.open(catalog, state.settings.route)
        for request in DEMO_REQUESTS:
            _print_result(request, router.route(request, k=k), schema=True, schema_rows=1)


def _print_result(request: str, result: RouteResult, *, schema: bool, schema_rows: int = 99
                  ) -> None:
    console.rule(f"[bold]{request}")
    if result.abstained:
        console.print(f"[yellow]no tool fits[/] (best score {result.best_score:.3f})")
    table = Table("#", "tool", "score", "description", box=None)
    for candidate in result.candidates:
        table.add_row(str(candidate.rank), f"[bold]{candidate.tool.name}[/]",
                      f"{candidate.score:.3f}", _first_line(candidate.tool.description))
    console.print(table)
    if schema:
        for candidate in result.candidates[:schema_rows]:
            console.print(f"[dim]{candidate.tool.name} input schema:[/]")
            console.print_json(data=candidate.tool.input_schema)


def _result_json(result: RouteResult) -> dict:
    return {
        "abstained": result.abstained,
        "best_score": result.best_score,
        "candidates": [{"rank": c.rank, "score": c.score, "reasons": c.reasons,
                        **c.tool.to_dict()} for c in result.candidates],
    }


def _first_line(text: str, width: int = 90) -> str:
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= width else line[: width - 1] + "…"


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _parse_ks(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(int(part) for part in _split(text))
    except ValueError:
        raise ConfigError(f"--k {text!r}: expected comma-separated integers like 1,5,10"
                          ) from None
    if not ks or min(ks) < 1:
        raise ConfigError(f"--k {text!r}: cut-offs must be positive integers")
    return ks
