"""`gpuwiz fleet status`: a node × layer table of marks from the doctor reports the playbook collected."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

LAYERS = ("hardware", "driver", "toolkit", "runtime", "k8s")
MARKS = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "-", "": "?"}
ASCII_MARKS = {"ok": "+", "warn": "!", "fail": "x", "skip": "-", "": "?"}
EXIT_OK, EXIT_FAILED, EXIT_REBOOT = 0, 1, 4


@dataclass(frozen=True)
class NodeStatus:
    node: str
    layers: Mapping[str, str] = field(default_factory=dict)  # layer -> ok|warn|fail|skip; {} no report
    failed: tuple[str, ...] = ()  # the ids of failed findings
    outcome: str = ""  # the last apply: done, green, failed, reboot-pending, planned; "" never ran
    exit_code: int | None = None
    profile: str = ""
    output: str = ""  # gpuwiz's own output when the node failed

    @property
    def problem(self) -> bool:
        return self.outcome in ("failed", "") or not self.layers or "fail" in self.layers.values()


def read_node(results_dir: Path, node: str) -> NodeStatus:
    """A node's doctor report and run outcome from results/NODE.doctor.json and NODE.run.json."""
    doctor = _read_json(results_dir / f"{node}.doctor.json")
    run = _read_json(results_dir / f"{node}.run.json")
    layers: dict[str, str] = {}
    failed: list[str] = []
    for layer in doctor.get("layers", []) if isinstance(doctor.get("layers"), list) else []:
        if isinstance(layer, dict) and layer.get("layer") in LAYERS:
            layers[str(layer["layer"])] = str(layer.get("status", ""))
            failed += [str(f.get("id")) for f in layer.get("findings", []) if f.get("status") == "fail"]
    code = run.get("exit_code")
    if isinstance(code, str) and code.lstrip("-").isdigit():  # Ansible's templating hands numbers on as text
        code = int(code)
    return NodeStatus(
        node=node,
        layers=layers,
        failed=tuple(failed),
        outcome=str(run.get("outcome", "")),
        exit_code=code if isinstance(code, int) else None,
        profile=str(run.get("profile") or doctor.get("profile") or ""),
        output=str(run.get("output", "")),
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def reported_nodes(results_dir: Path) -> list[str]:
    names = {p.name.split(".")[0] for p in results_dir.glob("*.json")} if results_dir.is_dir() else set()
    return sorted(names)


def fleet_status(results_dir: Path, nodes: Iterable[str]) -> list[NodeStatus]:
    return [read_node(results_dir, n) for n in nodes]


def status_exit_code(statuses: Sequence[NodeStatus]) -> int:
    """0 every node green, 1 a node failed (a failed layer, a failed run, no report), 4 a reboot pending."""
    if not statuses or any(s.problem for s in statuses):
        return EXIT_FAILED
    if any(s.outcome == "reboot-pending" for s in statuses):
        return EXIT_REBOOT
    return EXIT_OK


def status_table(statuses: Sequence[NodeStatus], *, unicode: bool = True) -> list[str]:
    marks = MARKS if unicode else ASCII_MARKS
    width = max([4, *(len(s.node) for s in statuses)])
    header = f"{'node':<{width}}  " + "  ".join(f"{layer:<8}" for layer in LAYERS) + "  last run"
    lines = [header.rstrip()]
    for s in statuses:
        cells = "  ".join(f"{marks.get(s.layers.get(layer, ''), '?'):<8}" for layer in LAYERS)
        run = s.outcome or "never"
        if s.exit_code not in (None, 0):
            run += f" (exit {s.exit_code})"
        if s.profile:
            run += f"  [{Path(s.profile).name if '/' in s.profile else s.profile}]"
        lines.append(f"{s.node:<{width}}  {cells}  {run}".rstrip())
    legend = "  ".join(f"{marks[k]} {k}" for k in ("ok", "warn", "fail", "skip")) + f"  {marks['']} no report"
    return [*lines, "", legend]


def status_document(statuses: Sequence[NodeStatus]) -> dict[str, Any]:
    return {
        "format": 1,
        "exit_code": status_exit_code(statuses),
        "nodes": [
            {
                "node": s.node,
                "profile": s.profile or None,
                "outcome": s.outcome or None,
                "exit_code": s.exit_code,
                "layers": {layer: s.layers.get(layer) for layer in LAYERS},
                "failed_findings": list(s.failed),
            }
            for s in statuses
        ],
    }
