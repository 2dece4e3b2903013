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
from gpuwiz.backends.planners.node_state import same_state
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
    layers_alone: bool = False,
) -> Plan:
    """Steps for every layer that is not healthy (or that a selection asks to change), bottom up.

    A step that two layers share (installing curl and gpg, the key directory) appears once, where
    the first layer needs it (see shared_once). `layers_alone`: every layer keeps all of its steps,
    for the wizard, which runs one layer at a time."""
    planners = load_backends("planner") if planners is None else planners
    selections, notes = check_selections(report, dict(selections or {}), planners, source=source)
    steps: list[Step] = []
    # a selection that names what the node already is (or what it would be left as) asks for no change
    now = {**{c.key: c.recommended for c in offered_choices(report, planners)}, **same_state(report)}
    for layer in LAYERS:
        status = report.layer(layer).status
        asked = any(
            key.startswith(f"{layer.value}.") and key in now and now[key] != value for key, value in selections.items()
        )
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
    plan = Plan(tuple(steps), tuple(notes))
    return plan if layers_alone else shared_once(plan)


# commands whose effect depends on what ran before them: a repeat after other steps is not the same step
_REFRESHES = {
    ("apt-get", "update"),
    ("apt", "update"),
    ("dnf", "makecache"),
    ("yum", "makecache"),
    ("systemctl", None),
    ("sysctl", None),
    ("update-initramfs", None),
    ("dracut", None),
    ("kubectl", None),
    ("k3s", None),
    ("helm", None),
}


def _refreshes(step: Step) -> bool:
    if not step.argv:
        return False
    argv = list(step.argv)
    while argv and (argv[0] in ("env", "sudo") or "=" in argv[0]):
        argv.pop(0)
    if not argv:
        return False
    words = [a for a in argv[1:] if not a.startswith("-")]
    return (argv[0], None) in _REFRESHES or (argv[0], words[0] if words else "") in _REFRESHES


def _same_action(step: Step) -> tuple:
    """What a step does, whatever its id, title and layer."""
    return (step.argv, step.edit, step.skip_if, step.restarts, step.reboot, step.interactive, step.needs_root)


def shared_once(plan: Plan) -> Plan:
    """The plan with each step that a later layer repeats from an earlier one (same id, or the same
    argv or file edit) kept once, at its first place. Repeats within one layer stay (a planner means
    them: the test job deleted before and after it runs), and so does a repeated refresh (apt-get
    update, a restart, sysctl --system) with other steps in between: a repository added since
    needs its package lists fetched again."""
    kept: list[Step] = []
    first: dict[tuple, int] = {}  # action -> index in kept
    for step in plan.steps:
        action = _same_action(step)
        at = first.get(action)
        if at is not None and kept[at].layer is not step.layer:
            if not _refreshes(step) or at == len(kept) - 1:
                continue
        first.setdefault(action, len(kept))
        if _refreshes(step):
            first[action] = len(kept)  # a later repeat compares with the latest one
        kept.append(step)
    if len(kept) == len(plan.steps):
        return plan
    return Plan(tuple(kept), plan.notes)
