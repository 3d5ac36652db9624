"""Gateway search over Streamable HTTP at 10,000 tools: `toolnav serve` beside FastMCP's
`BM25SearchTransform` gateway, same catalog, same requests, same load generator, same run.

The catalog is every tool of the five sets in ../shared/data (Seal-Tools, ToolBench, Gorilla
APIBench, MetaTool, API-Bank: 7,879 real tools) topped up to --tools with copies of real tools
filed under the source ``mirror`` (renamed ``mirror__NAME``, so they are embedded and indexed
like any other tool). Requests are an equal, seeded sample of each set's labelled requests, with
their gold tools named as in the catalog. Both gateways are started as subprocesses on loopback:
``toolnav --home HOME serve --http`` and bench/fastmcp_peer.py under the peer's virtualenv,
serving the same tools (exported from the catalog with their names and input schemas).

Each gateway gets the same load, after a warm-up (--warmup requests from the python client):
--clients concurrent HTTP connections post ``tools/call search_tools`` for the requests, in
turn, statelessly (protocol 2026-07-28, which both speak). The load generator (--load) is
`wrk` by default (Debian package ``wrk``; bench/wrk_search.lua cycles through every request's
body, the same POSTs and headers `search_request` builds, one wrk connection per client, one
wrk thread: it costs ~0.3 ms of CPU per request, against ~3-4 ms for the python client, and
shares the machine's cores with the server). The wrk run lasts --seconds, or by default as
long as the recall pass took and at least 5 s (each request is sent at least about once). wrk
does not read the answers' tool names, so a pass of the python client over every request,
--clients at a time, measures recall@5 just before it. ``--load python`` times that python
client instead (httpx connection pool, anyio tasks, every request once): the method of the
figures recorded before wrk.

Reported per gateway: requests/s answered over the timed run, p50/p99 latency of a request
(wrk: send to last byte; python: send to parsed answer), recall@5 (share of gold tools among the
five returned, averaged over requests) overall and per set, errors (answers that are not HTTP
200, or carry ``isError`` or a JSON-RPC error, and socket errors; with wrk also the recall
pass's failed requests), the server's CPU time per request (user + system, all threads of its
process and of its child processes: on a shared machine a steadier figure than wall time;
2,000 / that is the requests/s two idle cores would give), the part of it spent by the
server's main thread ("loop ms": the event loop, which runs HTTP, the MCP SDK and the
gateway; toolnav's searches run in a search process, or on worker threads with
``--search-processes 0``: row ``tn-thread``) and the load generator's own CPU time per
request ("client ms": wrk's, read from RUSAGE_CHILDREN, or the python client's). With wrk a
line under each row gives the recall pass's requests/s and the python client's CPU per
request, for comparison.

A home with a label-free request table (`toolnav tune --label-free`; --label-free trains one
first) embeds requests with it; the same gateway is then also measured with the int8
transformer (``TOOLNAV_REQUEST_ENCODER=int8``, row ``tn-int8``). Two more servers are always
measured, to show where the time goes:
bench/toolnav_pre_embedded.py, toolnav's gateway with the request encoder taken out (request
vectors computed before the run: everything a search costs but the forward pass); and
bench/sdk_floor_peer.py, the same MCP SDK HTTP stack and uvicorn settings answering
``search_tools`` with a fixed answer of the same size and no search at all, the ceiling of any
gateway on this SDK and transport on this machine.

The peer's virtualenv (FastMCP's pins clash with ours; 4.1.6 needs a certifi override here,
see ../shared/notes/mcp-ecosystem.md):
    python3 -m venv /work/scratch/fastmcp-venv
    /work/scratch/fastmcp-venv/bin/pip install uv
    echo "certifi==2026.10.18" > /tmp/fastmcp-overrides.txt
    /work/scratch/fastmcp-venv/bin/uv pip install --python /work/scratch/fastmcp-venv/bin/python \
        --override /tmp/fastmcp-overrides.txt "fastmcp==4.1.6"

Run (the first run embeds what the embedding cache lacks; --home reuses the catalog; without
wrk on the PATH the python client is used, with a line saying so; ``apt-get install wrk``):
    .venv/bin/python bench/server.py --home /tmp/gw-home \
        --peer-python /work/scratch/fastmcp-venv/bin/python [--clients 8 --requests 1000] \
        [--load wrk|python] [--seconds 20]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import numpy as np

from toolnav.embed import label_free_table
from toolnav.evaluation.evaluate import load_queries, recall_at_k
from toolnav.runtime import Toolnav

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
DATASETS = ("seal_tools", "toolbench", "gorilla_apibench", "metatool", "api_bank")
PEER_SCRIPT = Path(__file__).with_name("fastmcp_peer.py")
FLOOR_SCRIPT = Path(__file__).with_name("sdk_floor_peer.py")
PRE_EMBEDDED_SCRIPT = Path(__file__).with_name("toolnav_pre_embedded.py")
WRK_SCRIPT = Path(__file__).with_name("wrk_search.lua")
PROTOCOL = "2026-07-28"
K = 5
MIN_WRK_SECONDS = 5  # a wrk run's least length when --seconds is not given


@dataclass(frozen=True)
class Request:
    dataset: str
    text: str
    gold: tuple[str, ...]


@dataclass
class Run:
    """One server's figures, from one load generator's run."""

    name: str
    answered: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    recalls: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0
    cpu_seconds: float = 0.0
    loop_cpu_seconds: float = 0.0
    client_cpu_seconds: float = 0.0

    def rate(self) -> float:
        return self.answered / self.seconds

    def row(self) -> str:
        every = [value for values in self.recalls.values() for value in values]
        per_set = "  ".join(f"{name} {statistics.fmean(values):.3f}"
                            for name, values in sorted(self.recalls.items()))
        return (f"{self.name:8s} {self.rate():8.1f} {self.p50_ms:8.1f} {self.p99_ms:8.1f} "
                f"{statistics.fmean(every):9.3f} {self.errors:6d}"
                f" {self.cpu_seconds / self.answered * 1000:8.1f}"
                f" {self.loop_cpu_seconds / self.answered * 1000:8.1f}"
                f" {self.client_cpu_seconds / self.answered * 1000:9.1f}   {per_set}")


def build_catalog(home: Path, tools: int, cache: Path | None) -> Toolnav:
    """A runtime over the five sets' tools topped up to *tools* with ``mirror`` copies,
    indexed (a home that already holds them is reused as it is)."""
    toolnav = Toolnav.open(home, embedding_cache=cache)
    if len(toolnav.catalog) != tools:
        for name in DATASETS:
            toolnav.catalog.add_source(DATA / name, name=name)
        real = toolnav.catalog.tools()
        toolnav.catalog.add_tools(real[:max(0, tools - len(real))], source="mirror")
    report = toolnav.index()
    print(f"catalog: {report.tools} tools ({report.embedded} embedded now, {report.cached} "
          f"cached) in {report.seconds:.1f} s", flush=True)
    return toolnav


def labelled_requests(toolnav: Toolnav, per_set: int, seed: int) -> list[Request]:
    """*per_set* requests of each set, seeded, gold tools named as in the catalog."""
    name_of = {(entry.tool.source, entry.original_name): entry.tool.name
               for entry in toolnav.catalog.entries()}
    rng = random.Random(seed)
    requests = []
    for dataset in DATASETS:
        queries = load_queries(DATA / dataset)
        for query in rng.sample(queries, min(per_set, len(queries))):
            requests.append(Request(dataset, query.text,
                                    tuple(name_of[(dataset, gold)] for gold in query.gold)))
    rng.shuffle(requests)
    return requests


def export_tools(toolnav: Toolnav, path: Path) -> None:
    """The catalog as the peer reads it: name, description, input schema."""
    with path.open("w", encoding="utf-8") as out:
        for tool in toolnav.catalog.tools():
            out.write(json.dumps({"name": tool.name, "description": tool.description,
                                  "inputSchema": dict(tool.input_schema)},
                                 ensure_ascii=False) + "\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gateway_process(command: Sequence[str], port: int, log: Path, env: dict[str, str],
                    arguments: dict[str, Any], startup_seconds: float = 600
                    ) -> Iterator[tuple[str, int]]:
    """Start a gateway; yields its /mcp URL and process id once a search answers; stops it."""
    url = f"http://127.0.0.1:{port}/mcp"
    with log.open("w") as out:
        process = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + startup_seconds
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{command[0]} exited with {process.returncode}: "
                                       f"{log.read_text()[-2000:]}")
                try:
                    search_names(httpx.post(url, **search_request(0, "warm up", arguments),
                                            timeout=30))
                    break
                except (httpx.HTTPError, ValueError):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"no search answer from {url}") from None
                    time.sleep(0.5)
            yield url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def search_request(number: int, query: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """httpx keyword arguments of one stateless ``tools/call search_tools`` POST."""
    body = {"jsonrpc": "2.0", "id": number, "method": "tools/call",
            "params": {"name": "search_tools", "arguments": {"query": query, **arguments},
                       "_meta": {"io.modelcontextprotocol/protocolVersion": PROTOCOL,
                                 "io.modelcontextprotocol/clientCapabilities": {}}}}
    headers = {"MCP-Protocol-Version": PROTOCOL, "Mcp-Method": "tools/call",
               "Mcp-Name": "search_tools", "Content-Type": "application/json",
               "Accept": "application/json, text/event-stream"}
    return {"content": json.dumps(body), "headers": headers}


def search_names(response: httpx.Response) -> list[str]:
    """The tool names a search answer lists, in rank order (JSON or one SSE event).

    Raises:
        ValueError: not a successful search answer.
    """
    response.raise_for_status()
    text = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    message = json.loads(text)
    result = message.get("result")
    if not result or result.get("isError"):
        raise ValueError(f"search failed: {text[:300]}")
    found = result.get("structuredContent")
    if found is None:
        found = json.loads(result["content"][0]["text"])
    if isinstance(found, dict):  # toolnav: {"tools": [...]}; FastMCP: {"result": [...]}
        found = found.get("tools", found.get("result"))
    return [tool["name"] for tool in found]


async def load(name: str, url: str, requests: Sequence[Request], arguments: dict[str, Any],
               clients: int) -> Run:
    """Every request once, *clients* at a time; latency, recall@5 and errors."""
    run = Run(name)
    latencies_ms: list[float] = []
    pending = iter(enumerate(requests))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def worker() -> None:
            for number, request in pending:
                began = time.perf_counter()
                try:
                    response = await client.post(url, **search_request(number, request.text,
                                                                       arguments))
                    names = search_names(response)
                except (httpx.HTTPError, ValueError, KeyError, StopIteration):
                    run.errors += 1
                    continue
                latencies_ms.append((time.perf_counter() - began) * 1000)
                run.recalls.setdefault(request.dataset, []).append(
                    recall_at_k(names, request.gold, K))

        began = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(clients):
                group.start_soon(worker)
        run.seconds = time.perf_counter() - began
    run.answered = len(latencies_ms)
    run.p50_ms, run.p99_ms = np.percentile(latencies_ms, [50, 99]) if latencies_ms else (0, 0)
    return run


def python_load(name: str, url: str, requests: Sequence[Request], arguments: dict[str, Any],
                clients: int) -> Run:
    """`load` run to its end, with this process's CPU time as the generator's."""
    began = time.process_time()
    run = anyio.run(load, name, url, requests, arguments, clients)
    run.client_cpu_seconds = time.process_time() - began
    return run


def write_wrk_requests(path: Path, requests: Sequence[Request],
                       arguments: dict[str, Any]) -> None:
    """The requests file bench/wrk_search.lua reads: `search_request`'s headers, an empty line,
    then each request's body on a line of its own."""
    headers = search_request(0, "", arguments)["headers"]
    lines = [f"{name}: {value}" for name, value in headers.items()]
    lines.append("")
    lines.extend(search_request(number, request.text, arguments)["content"]
                 for number, request in enumerate(requests))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def wrk_load(name: str, url: str, requests: Sequence[Request], arguments: dict[str, Any],
             clients: int, threads: int, seconds: int) -> Run:
    """wrk posting the requests in turn for *seconds* over *clients* connections: answers/s,
    p50/p99, failed answers and socket errors, and wrk's CPU time (no recall: wrk does not
    parse the answers).

    Raises:
        RuntimeError: wrk failed or printed no figures.
    """
    with tempfile.TemporaryDirectory(prefix="toolnav-bench-wrk-") as folder:
        requests_file = Path(folder) / "requests.txt"
        write_wrk_requests(requests_file, requests, arguments)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            ["wrk", "--threads", str(threads), "--connections", str(clients),
             "--duration", f"{seconds}s", "--timeout", "60s", "--script", str(WRK_SCRIPT), url,
             "--", str(requests_file), str(threads)],
            capture_output=True, text=True, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = next((json.loads(line) for line in reversed(done.stdout.splitlines())
                    if line.startswith("{")), None)
    if done.returncode != 0 or figures is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-1000:]}"
                           f"{done.stderr[-1000:]}")
    return Run(name, answered=figures["requests"] - figures["failed"],
               seconds=figures["seconds"], p50_ms=figures["p50_ms"], p99_ms=figures["p99_ms"],
               errors=figures["failed"] + figures["socket_errors"],
               client_cpu_seconds=(after.ru_utime + after.ru_stime)
               - (before.ru_utime + before.ru_stime))


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU time so far of process *pid* with its running child processes (the
    search processes of ``toolnav serve``): all their threads, or only *pid*'s *thread*."""
    stat = Path(f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
                ).read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    if thread is not None:
        return own
    return own + sum(cpu_seconds(child) for child in child_pids(pid))


def child_pids(pid: int) -> list[int]:
    """The running child processes of *pid*."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            children.extend(int(child) for child in (task / "children").read_text().split())
    return children


@dataclass(frozen=True)
class Load:
    """How the servers are loaded: the generator (``wrk`` or ``python``), its concurrent
    clients, the warm-up's requests, and for wrk its threads and a fixed duration (None: as long
    as the recall pass took, at least `MIN_WRK_SECONDS`)."""

    generator: str
    clients: int
    warmup: int
    wrk_threads: int = 1
    seconds: int | None = None


def measure(name: str, server: tuple[str, int], requests: Sequence[Request],
            arguments: dict[str, Any], how: Load) -> Run:
    """Warm-up, then the timed run with *how*'s generator (for wrk after a python pass over
    every request that measures recall@5), with the server's CPU time over the timed run."""
    url, pid = server
    python_load(f"{name}-warm", url, requests[:how.warmup], arguments, how.clients)
    recall = (python_load(f"{name}-recall", url, requests, arguments, how.clients)
              if how.generator == "wrk" else None)
    began, loop_began = cpu_seconds(pid), cpu_seconds(pid, pid)
    run = (python_load(name, url, requests, arguments, how.clients) if recall is None
           else wrk_load(name, url, requests, arguments, how.clients, how.wrk_threads,
                         how.seconds or max(MIN_WRK_SECONDS, math.ceil(recall.seconds))))
    run.cpu_seconds = cpu_seconds(pid) - began
    run.loop_cpu_seconds = cpu_seconds(pid, pid) - loop_began
    note = ""
    if recall is not None:
        run.recalls, run.errors = recall.recalls, run.errors + recall.errors
        note = (f"\n{'':8s} recall pass (python, {how.clients} clients): {recall.rate():.1f} "
                f"req/s, client {recall.client_cpu_seconds / recall.answered * 1000:.1f} ms/req")
    print(f"{run.row()}   (load average {os.getloadavg()[0]:.1f}){note}", flush=True)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per set")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--load", choices=("wrk", "python"), default="wrk",
                        help="load generator of the timed run: wrk (compiled; recall@5 then "
                             "comes from a python pass before it) or the python (httpx) one")
    parser.add_argument("--seconds", type=int, default=None,
                        help="wrk: length of each timed run (default: as long as the recall "
                             "pass took, at least 5 s, so every request is sent at least "
                             "about once)")
    parser.add_argument("--wrk-threads", type=int, default=1,
                        help="wrk threads (one costs no more CPU per request than two here)")
    parser.add_argument("--search-processes", type=int, nargs="*", default=[0],
                        help="also measure toolnav serve with each of these numbers of search "
                             "processes (rows tn-spN; 0: worker threads, row tn-thread)")
    parser.add_argument("--home", type=Path, default=None, help="reuse a catalog home")
    parser.add_argument("--embedding-cache", type=Path, default=None)
    parser.add_argument("--peer-python", type=Path, default=None,
                        help="python of the virtualenv holding fastmcp (see the docstring); "
                        "without it only toolnav is measured")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label-free", action="store_true",
                        help="train the home's label-free request table first if it has none "
                             "(toolnav tune --label-free); a home with one is also measured "
                             "with the int8 transformer (tn-int8)")
    args = parser.parse_args()
    if not all((DATA / name / "tools.jsonl").is_file() for name in DATASETS):
        print(f"skipped: {DATA} lacks {', '.join(DATASETS)}")
        return 0
    home = args.home or Path(tempfile.mkdtemp(prefix="toolnav-bench-server-"))
    with build_catalog(home, args.tools, args.embedding_cache) as toolnav:
        requests = labelled_requests(toolnav, args.requests, args.seed)
        tools_file = home / "bench-server-tools.jsonl"
        export_tools(toolnav, tools_file)
    if args.load == "wrk" and shutil.which("wrk") is None:
        print("wrk not found (install it: apt-get install wrk); using the python load generator")
        args.load = "python"
    how = Load(args.load, args.clients, args.warmup, args.wrk_threads, args.seconds)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}
    length = f"{how.seconds} s" if how.seconds else "as long as the recall pass, >= 5 s"
    generator = (f"wrk, {how.wrk_threads} thread(s), {length}"
                 if how.generator == "wrk" else "python (httpx)")
    print(f"{len(requests)} requests ({args.requests} per set), {args.clients} concurrent "
          f"clients, load generator {generator}, Streamable HTTP on loopback, "
          f"{os.cpu_count()} CPUs\n")
    print(f"{'gateway':8s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'recall@5':>9s} "
          f"{'errors':>6s} {'CPU ms':>8s} {'loop ms':>8s} {'client ms':>9s}   recall@5 per set")

    def run(name: str, command: Callable[[int], list[str]], arguments: dict[str, Any],
            variables: dict[str, str] | None = None) -> None:
        port = free_port()
        with gateway_process(command(port), port, home / f"bench-server-{name}.log",
                             {**env, **(variables or {})}, arguments) as server:
            measure(name, server, requests, arguments, how)

    def serve(port: int) -> list[str]:
        return [sys.executable, "-m", "toolnav", "--home", str(home), "serve", "--http",
                f"127.0.0.1:{port}"]

    if args.label_free and label_free_table(home) is None:
        print("training the label-free request table (toolnav tune --label-free)", flush=True)
        subprocess.run([sys.executable, "-m", "toolnav", "--home", str(home), "tune",
                        "--label-free"], env=env, check=True, stdout=subprocess.DEVNULL)
    run("toolnav", serve, {"k": K})
    for processes in args.search_processes:
        run(f"tn-sp{processes}" if processes else "tn-thread",
            lambda port, n=processes: [*serve(port), "--search-processes", str(n)], {"k": K})
    if label_free_table(home) is not None:  # the same gateway with the transformer instead
        run("tn-int8", serve, {"k": K}, {"TOOLNAV_REQUEST_ENCODER": "int8"})
    requests_file = home / "bench-server-requests.jsonl"
    requests_file.write_text("".join(json.dumps(request.text) + "\n" for request in requests),
                             encoding="utf-8")
    cache = ["--embedding-cache", str(args.embedding_cache)] if args.embedding_cache else []
    run("no-model", lambda port: [sys.executable, str(PRE_EMBEDDED_SCRIPT), str(home),
                                  str(requests_file), str(port), *cache], {"k": K})
    run("sdkfloor", lambda port: [sys.executable, str(FLOOR_SCRIPT), str(tools_file), str(port),
                                  "--k", str(K)], {})
    if args.peer_python is None:
        print("peer skipped: pass --peer-python (see the docstring)")
        return 0
    run("fastmcp", lambda port: [str(args.peer_python), str(PEER_SCRIPT), str(tools_file),
                                 str(port), "--k", str(K)], {})
    return 0


if __name__ == "__main__":
    sys.exit(main())
