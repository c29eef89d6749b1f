"""The package's architecture: layers import only downwards, and no module imports itself back.

Layers from the ground up: randomness, scenarios, measurement, calibration (fitted laws), the
model, experiments, sweeps, theory, reports, the CLI. Every import is read from the source (module
level, ``TYPE_CHECKING`` blocks and imports inside functions alike), so a cycle cannot hide behind a
lazy import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "sim"
LAYERS = ["random", "scenario", "stats", "fit", "model", "rare", "experiment", "sweeps", "theory", "report",
          "cli"]
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The sim modules that ``path`` imports.

    ``from sim.x import y`` counts sim.x.y when y is a module, else sim.x (its names come from there).
    """
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "sim":
                continue
            for a in node.names:
                name = f"{node.module}.{a.name}"
                found.add(name if name in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "sim")
    return {m for m in found if m in modules}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


GRAPH = {name: _imports(path, _modules()) - {name} for name, path in _modules().items()}


def test_every_module_is_in_a_layer() -> None:
    loose = [m for m in GRAPH if m != "sim" and _layer(m) is None]
    assert loose == [], f"modules outside the layer packages {LAYERS}: {loose}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m != "sim"))
def test_imports_point_down(module: str) -> None:
    up = sorted(m for m in GRAPH[module] if m != "sim" and (_layer(m) or 0) > (_layer(module) or 0))
    assert up == [], f"{module} (layer {LAYERS[_layer(module) or 0]}) imports a higher layer: {up}"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module → modules it imports), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                return [*stack[stack.index(d):], d]
            if d not in state and (cycle := visit(d)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def test_no_import_cycle() -> None:
    # the root package only imports the layers lazily, for the public API; it is the top, not a layer
    graph = {m: {d for d in deps if d != "sim"} for m, deps in GRAPH.items() if m != "sim"}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def test_modules_stay_small() -> None:
    big = {m: n for m, p in _modules().items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert big == {}, f"modules over {MAX_LINES} lines (split them by job): {big}"


def test_the_checker_sees_cycles_and_upward_imports(tmp_path: Path) -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    assert _layer("sim.model.tier") < _layer("sim.cli.run")  # type: ignore[operator]
    a = tmp_path / "a.py"
    a.write_text("from sim.model import tier\nimport sim.cli.run\n")
    found = _imports(a, {"sim.model": a, "sim.model.tier": a, "sim.cli.run": a})
    assert found == {"sim.model.tier", "sim.cli.run"}
