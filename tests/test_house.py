"""The house follows the data flow (README's Layout): no import circle in gpuwiz.backends, and the
door to the machine (machine/) uses nothing that is built on it."""

from __future__ import annotations

import ast
from pathlib import Path

BACKENDS = Path(__file__).resolve().parent.parent / "backends"
ABOVE_THE_MACHINE = ("probes", "checks", "planners", "configs", "packages", "runs", "capture", "doctor")


def module_of(path: Path) -> str:
    parts = [p for p in path.relative_to(BACKENDS).with_suffix("").parts if p != "__init__"]
    return ".".join(["gpuwiz", "backends", *parts])


def imports() -> dict[str, set[str]]:
    """Every backends module and the backends modules it imports (at the top or inside a function)."""
    modules = {module_of(p): p for p in BACKENDS.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gpuwiz.backends"):
                assert node.level == 0
                if node.module in modules:
                    graph[name].add(node.module)
                graph[name] |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules}
            elif isinstance(node, ast.ImportFrom) and node.level:
                raise AssertionError(f"{path}: a relative import; gpuwiz.backends imports by absolute name")
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_there_is_no_import_circle():
    assert cycles(imports()) == []


def test_the_check_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def test_the_machine_uses_nothing_built_on_it():
    wrong = {
        (m, t)
        for m, targets in imports().items()
        if m.startswith("gpuwiz.backends.machine.")
        for t in targets
        if t.removeprefix("gpuwiz.backends.").split(".")[0] in ABOVE_THE_MACHINE
    }
    assert wrong == set()


def test_backends_folders_hold_their_concepts():
    folders = {p.name for p in BACKENDS.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert {"machine", "probes", "checks", "planners", "configs", "packages", "nvml", "runs"} <= folders
    assert len(list(BACKENDS.glob("*.py"))) <= 15  # the shared data types and the doctor, not 55 modules


def test_every_package_folder_ships_in_the_wheel():
    """pyproject lists the packages by hand (the repository maps tui/ and backends/ into gpuwiz): a folder
    left out works in an editable install and is missing from the wheel."""
    from gpuwiz.backends.toml_compat import tomllib

    root = BACKENDS.parent
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for top, name in ((root / "tui", "gpuwiz"), (BACKENDS, "gpuwiz.backends")):
        for init in top.rglob("__init__.py"):
            parts = init.parent.relative_to(top).parts
            found.add(".".join((name, *parts)))
    assert found - listed == set()
