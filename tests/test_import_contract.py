"""The import contract: modules import along the pipeline (DESIGN §1–2), never back, no cycles.

The graph is read from the source with `ast`, lazy (function-level) imports included: a lazy
back-import is still a dependency the wrong way round.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "toolnav"

# Layers in pipeline order: a module may import its own layer and those before it.
LAYERS = [
    {"errors"},
    {"config", "progress", "_atomic", "_blocking", "inputs"},
    {"schema"},
    {"tool"},
    {"catalog"},
    {"embed"},
    {"index"},
    {"lexical"},
    {"indexing"},
    {"gloss", "translate"},
    {"route"},
    {"render"},
    {"validate"},
    {"downstream"},
    {"execute"},
    {"llm"},
    {"runtime"},
    {"agent"},
    {"tasks"},
    {"server"},
    {"evaluation"},
    {"tuning"},
    {"testing"},
    {"cli"},
]
FACADES = {"toolnav", "toolnav.__main__"}  # the package re-exports, the module runs the CLI


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every toolnav module *path* imports, wherever the import statement sits."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(
        ".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "toolnav" or name.startswith("toolnav.")}


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in SOURCE.rglob("*.py")}
    return {name: {target for target in imports_of(path) if target in modules} - {name}
            for name, path in modules.items()}


def layer_of(module: str) -> int:
    top = module.split(".")[1]
    for number, members in enumerate(LAYERS):
        if top in members:
            return number
    raise AssertionError(f"{module} belongs to no layer; add its top-level name to LAYERS")


def back_imports(edges: dict[str, set[str]]) -> list[str]:
    return sorted(f"{source} imports {target}" for source, targets in edges.items()
                  if source not in FACADES for target in targets
                  if target not in FACADES and layer_of(target) > layer_of(source))


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), package inits aside: a
    package importing its own submodules to re-export them is not a cycle of logic."""
    def is_init_edge(source: str, target: str) -> bool:
        return target.startswith(source + ".") or source.startswith(target + ".")

    adjacency = {source: {t for t in targets if not is_init_edge(source, t)}
                 for source, targets in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in adjacency.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(adjacency):
        if node not in index:
            visit(node)
    return found


def test_every_import_runs_along_the_pipeline():
    assert back_imports(graph()) == []


def test_there_are_no_import_cycles():
    assert cycles(graph()) == []


@pytest.mark.parametrize("source, target", [
    ("toolnav.catalog.catalog", "toolnav.embed"),       # the store must not embed
    ("toolnav.execute", "toolnav.agent.loop"),          # execution knows no agent
    ("toolnav.tool", "toolnav.route"),
])
def test_a_deliberate_back_import_is_caught(source, target):
    edges = {name: set(targets) for name, targets in graph().items()}
    edges[source].add(target)
    added = set(back_imports(edges)) - set(back_imports(graph()))
    assert added == {f"{source} imports {target}"}


def test_a_deliberate_cycle_is_caught():
    edges = {name: set(targets) for name, targets in graph().items()}
    edges["toolnav.lexical"].add("toolnav.indexing")  # indexing already imports lexical
    assert ["toolnav.indexing", "toolnav.lexical"] in cycles(edges)
