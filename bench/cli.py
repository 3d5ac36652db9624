"""The command line on a 50,000-tool home, end to end as a user runs it, beside `make demo`.

Each figure is the wall time of one `toolnav --home H ...` process (start-up included) and its
CPU time (user + system; steadier on a shared machine), the median of a few runs:

- ``add`` of a 50k-tool JSONL file into a fresh home, and ``add`` of the same unchanged file
  again (issue 15 target: the re-add at least 2x faster);
- ``tools`` (the listing, output to a file) and one ``search`` on a warm, indexed home (target:
  under 2 s each);
- the peer: ``toolnav demo`` (what ``make demo`` runs) on a warm home of its own.

The tools file is generated (seeded). Building the indexed 50k home embeds 50,000 texts, which
takes a long time on a small machine; ``--cache DIR`` keeps the file and the warm home there
and reuses them on the next run.

Run:
    .venv/bin/python bench/cli.py --cache /tmp/toolnav-bench-cli [--tools 50000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VERBS = ["get", "list", "create", "update", "delete", "search", "export", "import", "sync",
         "archive", "restore", "validate", "translate", "summarise", "schedule", "cancel"]
THINGS = ["invoice", "customer", "order", "ticket", "flight", "hotel booking", "weather report",
          "stock quote", "calendar event", "email", "contact", "playlist", "recipe", "repository",
          "pull request", "shipment", "payment", "subscription", "document", "spreadsheet row",
          "photo", "video", "podcast episode", "news article", "exchange rate", "patient record",
          "lab result", "parking spot", "train ticket", "support chat"]
SERVICES = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka",
            "tyrell", "cyberdyne", "soylent", "aperture", "blackmesa", "vandelay", "oscorp"]
PARAMS = [("id", "string", "identifier of the {thing}"), ("limit", "integer", "how many to return"),
          ("query", "string", "free-text filter"), ("since", "string", "ISO date to start from"),
          ("currency", "string", "ISO 4217 code"), ("amount", "number", "amount in the currency"),
          ("dry_run", "boolean", "only report what would change"),
          ("page", "integer", "page number, from 1"), ("language", "string", "BCP 47 tag"),
          ("notify", "boolean", "tell the owner")]
SEARCH_REQUEST = "cancel my hotel booking at globex"


def generate_tools(path: Path, count: int, seed: int = 15) -> None:
    """Write *count* seeded tools in OpenAI JSONL form (one ``{"name", "description",
    "parameters"}`` object per line)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            verb, thing, service = rng.choice(VERBS), rng.choice(THINGS), rng.choice(SERVICES)
            params = rng.sample(PARAMS, rng.randint(1, 5))
            properties = {name: {"type": kind, "description": text.format(thing=thing)}
                          for name, kind, text in params}
            record = {
                "name": f"{service}_{verb}_{thing.replace(' ', '_')}_{i}",
                "description": f"{verb.capitalize()} a {thing} in {service.capitalize()} "
                               f"(variant {i % 97}).",
                "parameters": {"type": "object", "properties": properties,
                               "required": [params[0][0]]},
            }
            out.write(json.dumps(record) + "\n")


def toolnav(home: Path, *args: str, stdout: Path | None = None) -> tuple[float, float]:
    """Run one toolnav command like a user; returns its wall and CPU seconds."""
    command = [sys.executable, "-m", "toolnav", "--home", str(home), *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(stdout or os.devnull, "w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def warm_home(cache: Path, tools: int) -> tuple[Path, Path]:
    """The generated tools file and an added, indexed home, built in *cache* if absent."""
    cache.mkdir(parents=True, exist_ok=True)
    tools_file = cache / f"tools{tools // 1000}k.jsonl"
    home = cache / f"home{tools // 1000}k"
    if not tools_file.is_file():
        generate_tools(tools_file, tools)
    if not (home / "ready").is_file():
        print(f"building the warm home {home} (embeds {tools} tools once)...", flush=True)
        toolnav(home, "add", str(tools_file))
        toolnav(home, "index")
        (home / "ready").write_text("added and indexed\n")
    return tools_file, home


def medians(times: list[tuple[float, float]]) -> tuple[float, float]:
    """Median wall and median CPU seconds of (wall, CPU) runs."""
    return (statistics.median(wall for wall, _ in times),
            statistics.median(cpu for _, cpu in times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir())
                        / "toolnav-bench-cli", help="keeps the tools file and the warm home")
    parser.add_argument("--tools", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tools_file, home = warm_home(args.cache, args.tools)

    def add_twice() -> tuple[tuple[float, float], tuple[float, float]]:
        fresh = Path(tempfile.mkdtemp(prefix="toolnav-bench-add-"))
        try:
            return (toolnav(fresh, "add", str(tools_file)), toolnav(fresh, "add", str(tools_file)))
        finally:
            shutil.rmtree(fresh)

    adds = [add_twice() for _ in range(args.runs)]
    first, again = medians([first for first, _ in adds]), medians([again for _, again in adds])
    listing = args.cache / "tools.out"
    toolnav(home, "tools", stdout=listing)  # warm the page cache like a user's second command
    tools_s = medians([toolnav(home, "tools", stdout=listing) for _ in range(args.runs)])
    toolnav(home, "search", SEARCH_REQUEST)
    search_s = medians([toolnav(home, "search", SEARCH_REQUEST) for _ in range(args.runs)])
    demo_home = args.cache / "demo"
    toolnav(demo_home, "demo")  # its first run embeds the demo catalog; time a warm one
    demo_s = medians([toolnav(demo_home, "demo") for _ in range(args.runs)])

    print(f"{args.tools} tools, median of {args.runs} runs, seconds per command")
    print(f"{'command':<34}{'wall':>7}{'CPU':>7}  target")
    print(f"{'add (fresh home)':<34}{first[0]:>7.2f}{first[1]:>7.2f}")
    print(f"{'add again (unchanged source)':<34}{again[0]:>7.2f}{again[1]:>7.2f}  2x faster: "
          f"wall {first[0] / again[0]:.1f}x, CPU {first[1] / again[1]:.1f}x "
          f"({'met' if again[0] * 2 <= first[0] else 'NOT met'})")
    for label, (wall, cpu) in (("tools (listing)", tools_s),
                               (f"search {SEARCH_REQUEST!r}", search_s)):
        print(f"{label[:33]:<34}{wall:>7.2f}{cpu:>7.2f}  < 2 s: "
              f"{'met' if wall < 2 else 'NOT met'}")
    print(f"{'peer: toolnav demo (make demo)':<34}{demo_s[0]:>7.2f}{demo_s[1]:>7.2f}")


if __name__ == "__main__":
    main()
