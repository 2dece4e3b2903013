"""Planners turn Facts (plus the user's choices) into Steps; they register per layer.

Concrete planners and other backends register under the entry-point group `gpuwiz.backends`
with names `<kind>:<name>` (kind: planner, package-manager, runtime, cluster, gpu-source), so
another package can add one without touching this repository.
"""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from typing import Any, Mapping, Protocol

from gpuwiz.backends.doctor import DoctorReport
from gpuwiz.backends.errors import InputError
from gpuwiz.backends.findings import LAYERS, Layer, Status
from gpuwiz.backends.planners.choices import Choice, Selections, fit_selections
from gpuwiz.backends.runs.plan import NotAutomated, Plan, PlanNote, Step

ENTRY_POINT_GROUP = "gpuwiz.backends"


class Planner(Protocol):
    layer: Layer
    name: str
    # every choice key this planner may offer on some machine ("driver.branch") and, as a regular
    # expression, the values it takes on some machine (r"\d{3}"); "" takes any value
    keys: Mapping[str, str]

    def choices(self, report: DoctorReport) -> list[Choice]:
        """What can be chosen on this machine, each with its recommendation."""
        ...

    def plan(self, report: DoctorReport, selections: Selections) -> list[Step | PlanNote]:
        """Steps in order; a PlanNote among them says something about the layer (kept as a note)."""
        ...


def load_backends(kind: str) -> list[Any]:
    """Every registered backend of one kind, in entry-point name order."""
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name.split(":", 1)[0] == kind]
    return [ep.load() for ep in sorted(found, key=lambda ep: ep.name)]


def offered_choices(report: DoctorReport, planners: list[Planner] | None = None) -> list[Choice]:
    """Every choice the planners offer on this machine, bottom layer first."""
    planners = load_backends("planner") if planners is None else planners
    found = [c for p in planners for c in p.choices(report)]
    return sorted(found, key=lambda c: LAYERS.index(c.layer))


def check_known_keys(selections: Selections, planners: list[Planner] | None = None, *, source: str) -> None:
    """InputError for a key no planner knows or a value no machine takes (a typo), whatever machine
    this is."""
    planners = load_backends("planner") if planners is None else planners
    known: dict[str, str] = {}
    for p in planners:
        keys = p.keys if isinstance(p.keys, Mapping) else dict.fromkeys(p.keys, "")
        known.update(keys)
    for key, value in selections.items():
        if key not in known:
            raise InputError(source, f"{key}: unknown choice (known: {', '.join(sorted(known))})")
        pattern = known[key]
        if pattern and not re.fullmatch(pattern, value):
            shown = pattern.replace("|", ", ") if re.fullmatch(r"[\w|-]+", pattern) else f"a value like {pattern}"
            raise InputError(source, f"{key} = {value!r}: not a value gpuwiz knows (one of {shown})")


def check_selections(
    report: DoctorReport, selections: Selections, planners: list[Planner], *, source: str = "answers"
) -> tuple[dict[str, str], list[PlanNote]]:
    """The selections fitted to this machine, and a note for each that is not used as given.

    One answers file provisions several machines alike, so a choice that does not arise on this one
    (a branch where a driver is already installed) or a value this one does not offer (see
    choices.fit_selections) is said, not an error; a typo is an error (InputError).
    """
    check_known_keys(selections, planners, source=source)
    offered = offered_choices(report, planners)
    offered_keys = {c.key for c in offered}
    fitted, said = fit_selections(offered, selections, source=source)
    notes = [PlanNote(Layer(key.split(".", 1)[0]), text) for key, text in said]
    notes += [
        PlanNote(Layer(key.split(".", 1)[0]), f"{key} = {value!r} is not used: that choice does not arise here.")
        for key, value in selections.items()
        if key not in offered_keys
    ]
    return {k: v for k, v in fitted.items() if k in offered_keys}, notes


def build_plan(
    report: DoctorReport,
    selections: Selections | None = None,
    planners: list[Planner] | None = None,
    *,
    source: str = "answers",
) -> Plan:
    """Steps for every layer that is not healthy (or that a selection asks to change), bottom up."""
    planners = load_backends("planner") if planners is None else planners
    selections, notes = check_selections(report, dict(selections or {}), planners, source=source)
    steps: list[Step] = []
    for layer in LAYERS:
        status = report.layer(layer).status
        asked = any(key.startswith(f"{layer.value}.") for key in selections)
        if status is Status.SKIP or (status is Status.OK and not asked):
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
        found: list[Step] = []
        for planner in mine:
            try:
                for item in planner.plan(report, selections):
                    (notes if isinstance(item, PlanNote) else found).append(item)
            except NotAutomated as exc:
                notes.append(PlanNote(layer, str(exc)))
        if (
            not found
            and status is not Status.OK
            and layer is not Layer.HARDWARE
            and not any(n.layer is layer for n in notes)
        ):
            notes.append(
                PlanNote(layer, "needs work gpuwiz does not automate yet; the findings' fixes say what to do.")
            )
        steps += found
    if not steps and not any(n.layer is None or report.layer(n.layer).status is not Status.OK for n in notes):
        notes.append(PlanNote(None, "Every layer is healthy (or skipped); there is nothing to change."))
    return Plan(tuple(steps), tuple(notes))
