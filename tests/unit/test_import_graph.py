"""The ``sim`` package's imports go one way: scenario → economics → model → record → writer/CLI.

The economics stage sits below the model although it runs after it: it owns the run record
it computes money from (``sim.economics.inputs``), the model fills that record, and the
model's policy prices hashes with the same rules (``expected_keep``).

The graph is built statically from the source (``ast``), so a module that is never imported
by the tests is checked too. Counted as an edge from a module to ``sim.x.y``:

- every ``import sim.x.y`` and ``from sim.x.y import name`` (``sim.x.y.name`` when that is a
  module), relative imports resolved;
- wherever it stands: at module level, under ``if TYPE_CHECKING:`` (a cycle there is one for
  mypy and the reader) and inside a function body (a lazy import, marked as such);
- the packages that importing ``sim.x.y`` initialises first (``sim.x``), unless the importer
  is inside them: importing ``sim.scenario.grid`` from the model runs
  ``sim/scenario/__init__.py``, hence the loader and every check.

Not counted: names in strings (``importlib.import_module`` in ``sim/__init__.py``).

Neutral modules (``sim.consensus``, ``sim.steps``, ``sim.eventlog``, ``sim.units``,
``sim.rng``, ``sim.errors``) may be imported from every layer.

The tables of ``sim.record`` read the typed run records and their money (``sim.economics``),
the event log and the scenario, never the model: ``sim.runner`` fills the records from the
model and hands them over.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import sim

ROOT = Path(sim.__file__).parent

# importer package → the packages and modules it must not import (at any depth)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "sim.scenario": (
        "sim.economics",
        "sim.model",
        "sim.record",
        "sim.runner",
        "sim.result",
        "sim.cli",
    ),
    "sim.economics": ("sim.model", "sim.record", "sim.runner", "sim.result", "sim.cli"),
    "sim.model": ("sim.record", "sim.runner", "sim.result", "sim.cli"),
    "sim.record": ("sim.model", "sim.runner", "sim.cli"),
}

# Lazy imports allowed to point back up, each inside a function body only.
# RunResult.write: the notebook's way to write a run; the writer knows RunResult, not the
# other way round.
LATE_IMPORTS = {("sim.result", "sim.record.writer")}


class Edge(NamedTuple):
    """``importer`` imports ``target`` on ``line``; ``lazy`` when inside a function body."""

    importer: str
    target: str
    line: int
    lazy: bool


def module_names() -> dict[str, Path]:
    """Dotted name → file of every module of the ``sim`` package."""
    names = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = ("sim", *path.relative_to(ROOT).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _resolve(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The absolute module a ``from`` import names, relative imports included."""
    if not node.level:
        return node.module or ""
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(tree: ast.AST) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement of ``tree``, and whether it stands inside a function."""
    found = []

    def visit(node: ast.AST, lazy: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append((node, lazy))
        inner = lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, False)
    return found


def _with_parents(target: str, importer: str) -> list[str]:
    """``target`` and the packages importing it initialises, outside the importer's own."""
    parts = target.split(".")
    chain = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return [name for name in chain if not (importer == name or importer.startswith(name + "."))]


def import_edges() -> list[Edge]:
    """Every edge of the ``sim`` import graph (see the module docstring)."""
    modules = module_names()
    edges = []
    for importer, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node, lazy in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _resolve(node, importer, is_package)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for target in targets:
                if target == "sim" or target.startswith("sim."):
                    edges += [
                        Edge(importer, name, node.lineno, lazy)
                        for name in _with_parents(target, importer)
                    ]
    return edges


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, …, a]``, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_graph_is_read() -> None:
    """The parser sees plain, parent-package, TYPE_CHECKING and lazy imports."""
    edges = {(e.importer, e.target, e.lazy) for e in import_edges()}
    assert ("sim.runner", "sim.model.site", False) in edges
    assert ("sim.model.grid_programs", "sim.scenario", False) in edges  # the package
    assert ("sim.model.network", "sim.consensus", False) in edges  # from sim import consensus
    assert ("sim.cli", "sim.result", False) in edges  # under TYPE_CHECKING
    assert ("sim.result", "sim.record.writer", True) in edges
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle() -> None:
    """No module imports, directly or not, one that imports it back."""
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in import_edges():
        if not (edge.lazy and (edge.importer, edge.target) in LATE_IMPORTS):
            graph[edge.importer].add(edge.target)
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph) or [])


def test_late_imports_stay_inside_functions() -> None:
    """A late import allowed in a function would be a cycle at module level."""
    eager = [e for e in import_edges() if (e.importer, e.target) in LATE_IMPORTS and not e.lazy]
    assert eager == []


def test_layers_import_only_downwards() -> None:
    """scenario/ imports no other layer, economics/ no model or above, model/ no record or
    above, record/ no model."""
    wrong = [
        f"{e.importer}:{e.line} imports {e.target}"
        for e in import_edges()
        for layer, banned in FORBIDDEN.items()
        if _within(e.importer, layer) and any(_within(e.target, b) for b in banned)
    ]
    assert wrong == [], "\n".join(wrong)
