"""docs/diagnostics.md points every catalogue row at a finding that exists and a test and profile that prove it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from gpuwiz.backends.machine.profiles import SHIPPED_DIR

ROOT = Path(__file__).resolve().parent.parent
ROWS = range(1, 34)


def table() -> dict[int, tuple[str, str]]:
    rows = {}
    for line in (ROOT / "docs" / "diagnostics.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].isdigit():
            assert int(cells[0]) not in rows, f"row {cells[0]} twice"
            rows[int(cells[0])] = (cells[2], cells[3])
    return rows


def backend_strings() -> set[str]:
    found = set()
    for path in (ROOT / "backends").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def test_every_row_is_mapped():
    assert sorted(table()) == list(ROWS)


def test_finding_ids_exist():
    strings = backend_strings()
    for row, (recognised, _) in table().items():
        ids = re.findall(r"`([a-z0-9]+\.[a-z0-9.-]+)`", recognised)
        for finding_id in ids:
            assert finding_id in strings, f"row {row}: no finding {finding_id} in backends/"
        assert ids or "planners/" in recognised, f"row {row}: names no finding"


def test_tests_and_profiles_exist():
    shipped = {p.stem for p in SHIPPED_DIR.glob("*.toml")}
    for row, (_, proven) in table().items():
        tests = re.findall(r"(tests/[\w/]+\.py)::(\w+)", proven)
        assert tests, f"row {row}: names no test"
        for file, function in tests:
            source = (ROOT / file).read_text()
            assert f"def {function}(" in source, f"row {row}: {file}::{function} does not exist"
        for profile in re.findall(r"`([a-z0-9][a-z0-9-]+)`", proven):
            assert profile in shipped, f"row {row}: no profile {profile}"
