"""Prompt tokens of routed, compacted tool definitions vs sending the whole catalog.

For each dataset a 1,000-tool catalog is built (the gold tools of 200 seeded requests plus
seeded random tools). Per request, the top K tools (BM25 from `toolnav.lexical`, which needs
no model; the hybrid router picks different tools but of the same kind) are rendered in
OpenAI format. Side by side: the whole catalog as-is, the whole catalog compacted, top-K
as-is, and top-K compacted under a token budget. Tokens are `toolnav.render.estimate_tokens`
(compact JSON characters / 4).

Run:
    .venv/bin/python bench/render.py [--k 5] [--budget 3000] [--tools 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from pathlib import Path

from toolnav.lexical import LexicalIndex
from toolnav.render import render_tools
from toolnav.tool import Tool, lexical_text

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def catalog_and_requests(folder: Path, size: int, requests: int, seed: int = 0
                         ) -> tuple[list[Tool], list[dict]]:
    tools = {}
    for line in (folder / "tools.jsonl").read_text().splitlines():
        record = json.loads(line)
        tools[record["name"]] = Tool(name=record["name"], description=record.get("description")
                                     or "", input_schema=record.get("parameters")
                                     or {"type": "object", "properties": {}})
    rng = random.Random(seed)
    queries = [json.loads(line) for line in (folder / "queries.jsonl").read_text().splitlines()]
    queries = [q for q in queries if all(name in tools for name in q["tools"])]
    chosen = rng.sample(queries, min(requests, len(queries)))
    names = list(dict.fromkeys(name for q in chosen for name in q["tools"]))
    rest = [name for name in tools if name not in set(names)]
    names += rng.sample(rest, max(0, size - len(names)))
    return [tools[name] for name in names[:size]], chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--budget", type=int, default=3000)
    parser.add_argument("--tight-budget", type=int, default=300,
                        help="a second, tight budget that makes the renderer drop tools")
    parser.add_argument("--tools", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    print(f"{'dataset':<12}{'rendering':<42}{'median tokens':>14}{'saved':>9}{'tools':>7}")
    for dataset in ("seal_tools", "toolbench"):
        if not (DATA / dataset / "tools.jsonl").is_file():
            print(f"{dataset:<12}(missing under {DATA})")
            continue
        tools, requests = catalog_and_requests(DATA / dataset, args.tools, args.requests)
        index = LexicalIndex(list(range(len(tools))), [lexical_text(tool) for tool in tools])
        whole = render_tools(tools, compact=False).tokens
        whole_compact = render_tools(tools).tokens
        raw, compact, kept, tight, tight_kept, hits = [], [], [], [], [], 0
        for request in requests:
            ids, _ = index.search(request["query"], args.k)
            top = [tools[int(i)] for i in ids]
            raw.append(render_tools(top, compact=False).tokens)
            rendered = render_tools(top, budget=args.budget)
            compact.append(rendered.tokens)
            kept.append(len(rendered.tools))
            squeezed = render_tools(top, budget=args.tight_budget)
            tight.append(squeezed.tokens)
            tight_kept.append(len(squeezed.tools))
            hits += all(name in {t.name for t in rendered.tools} for name in request["tools"])
        rows = [(f"whole catalog ({len(tools)} tools), as-is", whole, len(tools)),
                (f"whole catalog ({len(tools)} tools), compacted", whole_compact, len(tools)),
                (f"top-{args.k}, as-is", statistics.median(raw), args.k),
                (f"top-{args.k}, compacted, budget {args.budget}", statistics.median(compact),
                 statistics.median(kept)),
                (f"top-{args.k}, compacted, budget {args.tight_budget}",
                 statistics.median(tight), statistics.median(tight_kept))]
        for label, tokens, count in rows:
            print(f"{dataset:<12}{label:<42}{tokens:>14,.0f}{1 - tokens / whole:>9.1%}"
                  f"{count:>7g}")
        print(f"{dataset:<12}requests: {len(requests)}; all gold tools in the prompt: "
              f"{hits / len(requests):.1%} (BM25 top-{args.k})")


if __name__ == "__main__":
    main()
