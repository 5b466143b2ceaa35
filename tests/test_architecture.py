"""The house rules of the source tree (docs/architecture.md), checked on the code:
no import cycles (imports inside functions count), nothing outside an engine reads
its internals, the model's equations written once, and no overgrown modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "livesim"
#: Compiled numba kernels may be long: a kernel is one pass and reads best whole.
LONG_ALLOWED = {"livesim.engines.kernels", "livesim.engines.step"}
MAX_LINES = 600
#: What code outside `livesim.engines` may import of it: the registry and the
#: output interface.
ENGINE_INTERFACE = {"livesim.engines", "livesim.engines.output"}


#: The layers, lowest first (docs/architecture.md): a module imports only modules of
#: its own layer or of layers below it. A module is in the layer of the longest
#: prefix listed (`livesim` alone: the package, its version and lazy API).
LAYERS = (
    (
        "foundation",
        (
            "livesim",
            "livesim.errors",
            "livesim.atomic",
            "livesim.schema",
            "livesim.progress",
            "livesim.columns",
            "livesim.formats",
            "livesim.dotted",
        ),
    ),
    ("model", ("livesim.model",)),
    (
        "configuration",
        (
            "livesim.scenario",
            "livesim.templates",
            "livesim.product",
            "livesim.starter",
            "livesim.calibration_schema",
            "livesim.archetypes",
            "livesim.paths",
            "livesim.scenarios",
        ),
    ),
    ("engines", ("livesim.engines",)),
    ("statistics", ("livesim.stats", "livesim.results")),
    (
        "running",
        (
            "livesim.runner",
            "livesim.assemble",
            "livesim.backends",
            "livesim.pool",
            "livesim.chunks",
            "livesim.checkpoint",
        ),
    ),
    ("presentation", ("livesim.report", "livesim.output")),
    (
        "experiments",
        (
            "livesim.compare",
            "livesim.calibrate",
            "livesim.bayes",
            "livesim.sweep",
            "livesim.sensitivity",
            "livesim.optimize",
        ),
    ),
    ("interfaces", ("livesim.api", "livesim.cli", "livesim.commands", "livesim.app")),
)


def layer(name: str) -> int:
    """The index of a module's layer (its longest listed prefix)."""
    best, found = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            inside = name.startswith(prefix + ".") and prefix != "livesim"
            if (name == prefix or inside) and len(prefix) > best:
                best, found = len(prefix), i
    assert found >= 0, f"{name} is in no layer: add it to LAYERS"
    return found


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The livesim modules a module imports anywhere (in functions too), except
    under `if TYPE_CHECKING:`. `from package import module` is an import of the
    module (its package's own imports are the package's)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            subs = [f"{node.module}.{a.name}" for a in node.names]
            found.update(s for s in subs if s in known)
            if any(s not in known for s in subs):
                found.add(node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    out = set()
    for name in found:
        while name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in known and name.startswith("livesim"):
            out.add(name)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return found


def test_the_checker_finds_a_cycle_through_a_function_import(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import livesim.b\n")
    (tmp_path / "b.py").write_text("def f():\n    from livesim.a import x\n")
    known = {"livesim.a": tmp_path / "a.py", "livesim.b": tmp_path / "b.py"}
    edges = {n: imports(p, known) - {n} for n, p in known.items()}
    assert cycles(edges) == [["livesim.a", "livesim.b"]]


def test_there_are_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_every_module_imports_only_its_own_layer_and_those_below() -> None:
    upward = {
        name: sorted(d for d in deps if layer(d) > layer(name))
        for name, deps in graph().items()
    }
    assert {k: v for k, v in upward.items() if v} == {}


def test_nothing_outside_an_engine_imports_its_internals() -> None:
    offenders = {
        name: sorted(
            d
            for d in deps
            if d.startswith("livesim.engines.") and d not in ENGINE_INTERFACE
        )
        for name, deps in graph().items()
        if not name.startswith("livesim.engines")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_engines_read_the_model_from_model() -> None:
    """Both engines take the viewer's equations and the per-stream constants from
    `model/`; the cohort engine builds no SimPy environment."""
    edges = graph()
    for engine in ("livesim.engines.agent", "livesim.engines.kernels"):
        assert "livesim.model.viewer" in edges[engine]
    for engine in ("livesim.engines.agent", "livesim.engines.cohort"):
        assert "livesim.model.stream" in edges[engine]
    cohort = modules()["livesim.engines.cohort"].read_text()
    assert "simpy" not in cohort
    assert "livesim.engines.agent" not in edges["livesim.engines.cohort"]


@pytest.mark.parametrize("name", sorted(set(modules()) - LONG_ALLOWED))
def test_no_module_is_overgrown(name: str) -> None:
    lines = len(modules()[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (at most {MAX_LINES})"
