"""Planners turn Facts (plus the user's choices) into Steps; they register per layer.

Concrete planners and other backends register under the entry-point group `gpuwiz.backends`
with names `<kind>:<name>` (kind: planner, package-manager, runtime, cluster, gpu-source), so
another package can add one without touching this repository.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, Mapping, Protocol

from .doctor import DoctorReport
from .findings import LAYERS, Layer, Status
from .plan import Plan, PlanNote, Step

ENTRY_POINT_GROUP = "gpuwiz.backends"


class Planner(Protocol):
    layer: Layer
    name: str

    def plan(self, report: DoctorReport, choices: Mapping[str, Any]) -> list[Step]: ...


def load_backends(kind: str) -> list[Any]:
    """Every registered backend of one kind, in entry-point name order."""
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name.split(":", 1)[0] == kind]
    return [ep.load() for ep in sorted(found, key=lambda ep: ep.name)]


def build_plan(report: DoctorReport, choices: Mapping[str, Any], planners: list[Planner] | None = None) -> Plan:
    """Steps for every layer that is not healthy, bottom up, from the registered planners."""
    planners = load_backends("planner") if planners is None else planners
    steps: list[Step] = []
    notes: list[PlanNote] = []
    for layer in LAYERS:
        status = report.layer(layer).status
        if status in (Status.OK, Status.SKIP):
            continue
        mine = [p for p in planners if p.layer is layer]
        if layer is Layer.HARDWARE:
            notes.append(PlanNote(layer, "gpuwiz cannot change hardware; the findings' fixes say what to do."))
        elif not mine:
            notes.append(
                PlanNote(
                    layer,
                    "needs work, but this gpuwiz has no planner for this layer yet; the findings' fixes say what to do.",
                )
            )
            continue
        found = [step for planner in mine for step in planner.plan(report, choices)]
        if not found and layer is not Layer.HARDWARE:
            notes.append(
                PlanNote(layer, "needs work gpuwiz does not automate yet; the findings' fixes say what to do.")
            )
        steps += found
    if not steps and not notes:
        notes.append(PlanNote(None, "Every layer is healthy (or skipped); there is nothing to change."))
    return Plan(tuple(steps), tuple(notes))
