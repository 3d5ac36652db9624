"""The command line on a 50,000-tool home, end to end as a user runs it, beside `make demo`.

Each figure is the wall time of one `toolnav --home H ...` process (start-up included), the
median of a few runs:

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


def toolnav(home: Path, *args: str, stdout: Path | None = None) -> float:
    """Run one toolnav command like a user; returns its wall time in seconds."""
    command = [sys.executable, "-m", "toolnav", "--home", str(home), *args]
    started = time.perf_counter()
    with open(stdout or os.devnull, "w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


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


def median_of(runs: int, measure) -> float:
    return statistics.median(measure() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir())
                        / "toolnav-bench-cli", help="keeps the tools file and the warm home")
    parser.add_argument("--tools", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tools_file, home = warm_home(args.cache, args.tools)

    def add_twice() -> tuple[float, float]:
        fresh = Path(tempfile.mkdtemp(prefix="toolnav-bench-add-"))
        try:
            return (toolnav(fresh, "add", str(tools_file)), toolnav(fresh, "add", str(tools_file)))
        finally:
            shutil.rmtree(fresh)

    adds = [add_twice() for _ in range(args.runs)]
    first, again = (statistics.median(times) for times in zip(*adds, strict=True))
    listing = args.cache / "tools.out"
    toolnav(home, "tools", stdout=listing)  # warm the page cache like a user's second command
    tools_s = median_of(args.runs, lambda: toolnav(home, "tools", stdout=listing))
    toolnav(home, "search", SEARCH_REQUEST)
    search_s = median_of(args.runs, lambda: toolnav(home, "search", SEARCH_REQUEST))
    demo_home = args.cache / "demo"
    toolnav(demo_home, "demo")  # its first run embeds the demo catalog; time a warm one
    demo_s = median_of(args.runs, lambda: toolnav(demo_home, "demo"))

    print(f"{args.tools} tools, median of {args.runs} runs, wall seconds per command")
    print(f"{'command':<34}{'seconds':>9}  target")
    print(f"{'add (fresh home)':<34}{first:>9.2f}")
    print(f"{'add again (unchanged source)':<34}{again:>9.2f}  "
          f"<= {first / 2:.2f} (2x faster): {'met' if again * 2 <= first else 'NOT met'} "
          f"({first / again:.1f}x)")
    for label, seconds in (("tools (listing)", tools_s), (f"search {SEARCH_REQUEST!r}", search_s)):
        print(f"{label[:33]:<34}{seconds:>9.2f}  < 2: {'met' if seconds < 2 else 'NOT met'}")
    print(f"{'peer: toolnav demo (make demo)':<34}{demo_s:>9.2f}")


if __name__ == "__main__":
    main()
