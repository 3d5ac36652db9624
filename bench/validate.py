"""Measure `toolnav.validate` on labelled calls, and on mutations of them.

Two labelled sets: Seal-Tools gold calls, and the example tools' calls
(examples/labelled_calls.jsonl against examples/openapi_service and examples/python_tools.py,
the only set here whose schemas have bounds, so the out-of-range mutations get exercised).

1. Every gold call (queries.jsonl ``calls``) is validated against its tool (tools.jsonl
   ``parameters``). Side by side: plain ``jsonschema`` (no coercion, unknown properties
   allowed as the schemas do not forbid them) and toolnav (safe coercions, unknown
   properties rejected). Failures are listed by category: these are the known bad labels.
2. For every gold call toolnav accepts, mutations are generated — wrong type, missing
   required, unknown property, enum violation, out of range (numeric bounds, ``minLength``)
   — and each must be rejected with a message naming the parameter.

Run:
    .venv/bin/python bench/validate.py [--data ../shared/data/seal_tools] [--show 3]
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import statistics
import sys
import time
from pathlib import Path

from jsonschema import Draft202012Validator

from toolnav.catalog.sources.openapi import tools_from_openapi
from toolnav.catalog.sources.python import tools_from_module
from toolnav.errors import SchemaError, SourceError, ValidationFailed
from toolnav.tool import Tool
from toolnav.validate import validate_arguments

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "seal_tools"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
WRONG_VALUES = {"string": 12345, "integer": "not a number", "number": "not a number",
                "boolean": "maybe", "array": 17, "object": 17}


def load(data: Path) -> tuple[dict[str, Tool], list[dict], int]:
    tools: dict[str, Tool] = {}
    unusable = 0
    for line in (data / "tools.jsonl").read_text().splitlines():
        record = json.loads(line)
        try:
            tools[record["name"]] = Tool(name=record["name"],
                                         description=record.get("description", ""),
                                         input_schema=record.get("parameters")
                                         or {"type": "object", "properties": {}})
        except (SchemaError, SourceError):
            unusable += 1
    calls = [call for line in (data / "queries.jsonl").read_text().splitlines()
             for call in json.loads(line)["calls"]]
    return tools, calls, unusable


def load_examples() -> tuple[dict[str, Tool], list[dict], int]:
    """The example OpenAPI service's and Python module's tools and their labelled calls."""
    sys.path.insert(0, str(EXAMPLES))
    spec = json.loads((EXAMPLES / "openapi_service" / "openapi.json").read_text())
    tools = {tool.name: tool for tool in tools_from_openapi(spec, source="shop")
             + tools_from_module("python_tools")}
    calls = [{"name": record["tool"], "arguments": record["arguments"]} for record in
             map(json.loads, (EXAMPLES / "labelled_calls.jsonl").read_text().splitlines())]
    return tools, calls, 0


def category(error: ValidationFailed) -> str:
    """A short label for the first issue: problem plus expected type."""
    issue = error.issues[0]
    expected = issue["expected"].split(" (", 1)[0]
    given = issue["given"].split(" ", 1)[0]
    if "API_call_" in issue["given"]:
        given = "an 'API_call_N' placeholder for an earlier call's output"
    return f"{issue['problem']}: expected {expected}, given {given}"


def mutations(tool: Tool, arguments: dict) -> list[tuple[str, str, dict]]:
    """(kind, parameter, mutated arguments) for one accepted gold call."""
    properties = tool.parameters()
    out: list[tuple[str, str, dict]] = []
    for name in arguments:
        schema = properties.get(name) or {}
        kind = schema.get("type")
        if isinstance(kind, str) and kind in WRONG_VALUES:
            out.append(("wrong type", name, {**arguments, name: WRONG_VALUES[kind]}))
        if "enum" in schema:
            out.append(("enum violation", name, {**arguments, name: "__not_allowed__"}))
        for bound, delta in (("minimum", -1), ("exclusiveMinimum", 0), ("maximum", 1),
                             ("exclusiveMaximum", 0)):
            if isinstance(schema.get(bound), int | float) and kind in ("integer", "number"):
                out.append(("out of range", name, {**arguments, name: schema[bound] + delta}))
        if isinstance(schema.get("minLength"), int) and schema["minLength"] > 0 \
                and kind == "string":
            out.append(("out of range", name, {**arguments, name: ""}))
    for name in tool.input_schema.get("required") or []:
        if name in arguments:
            out.append(("missing required", name,
                        {key: value for key, value in arguments.items() if key != name}))
    out.append(("unknown property", "zz_unlisted_option", {**arguments, "zz_unlisted_option": 1}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--show", type=int, default=3, help="examples per bad-label category")
    args = parser.parse_args()
    if (args.data / "tools.jsonl").exists():
        measure("Seal-Tools", *load(args.data), show=args.show)
    else:
        print(f"{args.data} not found: Seal-Tools skipped")
    measure("examples", *load_examples(), show=args.show)


def measure(label: str, tools: dict[str, Tool], calls: list[dict], unusable: int, *,
            show: int) -> None:
    """Validate every labelled call and its mutations; print the tables."""
    print(f"\n=== {label}: {len(tools)} tools ({unusable} with unusable schemas), "
          f"{len(calls)} gold calls")

    unknown_tool = [call for call in calls if call["name"] not in tools]
    known = [call for call in calls if call["name"] in tools]
    plain_pass = sum(not any(Draft202012Validator(tools[c["name"]].input_schema)
                             .iter_errors(c["arguments"])) for c in known)
    bad: dict[str, list[tuple[dict, str]]] = collections.defaultdict(list)
    accepted: list[tuple[Tool, dict]] = []
    timings = []
    for call in known:
        tool = tools[call["name"]]
        start = time.perf_counter()
        try:
            arguments = validate_arguments(tool, copy.deepcopy(call["arguments"]))
            accepted.append((tool, arguments))
        except ValidationFailed as error:
            bad[category(error)].append((call, str(error).splitlines()[1]))
        timings.append(time.perf_counter() - start)

    print(f"\ngold calls naming a tool absent from tools.jsonl: {len(unknown_tool)}")
    print(f"{'validator':<44}{'gold calls accepted':>22}")
    print(f"{'jsonschema (no coercion, unknown allowed)':<44}{plain_pass:>10} / {len(known)}"
          f" ({plain_pass / len(known):.1%})")
    print(f"{'toolnav (safe coercion, unknown rejected)':<44}{len(accepted):>10} / {len(known)}"
          f" ({len(accepted) / len(known):.1%})")
    print(f"median toolnav validation time: {statistics.median(timings) * 1e6:.0f} µs/call")
    print("\nrejected gold calls (known bad labels), by category:")
    for label, items in sorted(bad.items(), key=lambda item: -len(item[1])):
        print(f"  {len(items):>5}  {label}")
        for call, line in items[:show]:
            print(f"           {call['name']}: {line}")

    counts: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    misses = []
    for tool, arguments in accepted:
        for kind, name, mutated in mutations(tool, arguments):
            counts[kind][0] += 1
            try:
                validate_arguments(tool, mutated)
                misses.append((kind, tool.name, name, mutated))
                continue
            except ValidationFailed as error:
                counts[kind][1] += 1
                counts[kind][2] += f"- {name}:" in str(error)
    print(f"\nmutations of the {len(accepted)} accepted gold calls:")
    print(f"{'kind':<20}{'generated':>10}{'rejected':>10}{'names param':>13}")
    for kind, (generated, rejected, named) in sorted(counts.items()):
        print(f"{kind:<20}{generated:>10}{rejected:>10}{named:>13}")
    for kind in ("enum violation", "out of range"):
        if kind not in counts:
            print(f"{kind:<20}{0:>10}   (no schema in the catalog has this constraint)")
    for miss in misses[:10]:
        print("ACCEPTED A MUTATION:", miss)


if __name__ == "__main__":
    main()
