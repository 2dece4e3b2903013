"""Steps and Plans as data, and their three renderings (text, sh, json).

What the wizard shows before "Run" is exactly what the executor runs, and `plan --format sh`
prints the same steps as a script that does what the executor would do, guards included.
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass, field
from typing import Any

from gpuwiz.backends import __version__
from gpuwiz.backends.findings import Layer
from gpuwiz.backends.jsonable import to_jsonable

PLAN_FORMAT = 2  # 2: skip_if is a Guard object ({"argv", "every_line"}), not an argv


@dataclass(frozen=True)
class Guard:
    """The check that a step is done already: `argv` exits 0 and, when `every_line` is set, prints
    at least one line (stdout and stderr together) and every line it prints is exactly that."""

    argv: tuple[str, ...]
    every_line: str | None = None

    def holds(self, returncode: int, lines: list[str]) -> bool:
        if returncode != 0:
            return False
        return self.every_line is None or (bool(lines) and all(line == self.every_line for line in lines))

    def __str__(self) -> str:
        command = shlex.join(self.argv)
        if self.every_line is None:
            return f"{command} succeeds"
        return f'{command} prints only "{self.every_line}" lines'

    def sh_unless(self) -> str:
        """The bash `if` that runs its body unless the guard holds. stderr goes into the comparison,
        so a missing package's "no packages found" line breaks the match whatever the exit status."""
        command = shlex.join(self.argv)
        if self.every_line is None:
            return f"if ! {command} >/dev/null 2>&1; then"
        return f'if [ "$({command} 2>&1 | sort -u)" != {shlex.quote(self.every_line)} ]; then'


@dataclass(frozen=True)
class FileEdit:
    path: str
    new_text: str
    old_text: str | None = None  # None: the file does not exist yet
    mode: int | None = None  # None: keep the file's mode (0644 for a new file)

    def diff(self) -> str:
        old = (self.old_text or "").splitlines(keepends=True)
        new = self.new_text.splitlines(keepends=True)
        before = self.path if self.old_text is not None else "/dev/null"
        return "".join(difflib.unified_diff(old, new, before, self.path))


@dataclass(frozen=True)
class Step:
    """One action: run an argv or write a file. Exactly one of `argv` and `edit` is set."""

    id: str  # stable dotted id: "driver.install-packages"
    title: str
    layer: Layer
    argv: tuple[str, ...] | None = None
    edit: FileEdit | None = None
    skip_if: Guard | None = None  # holds when the step is already done
    needs_root: bool = True
    restarts: tuple[str, ...] = ()  # systemd units restarted after the step
    reboot: bool = False  # a reboot must follow before later layers can work
    verifies: tuple[str, ...] = ()  # finding ids that prove the step worked
    why: str = ""
    interactive: bool = False  # asks the person at the terminal (a one-time password): it gets the terminal
    wait_s: int | None = None  # it waits for something, at most this long (the UI counts down)
    removal: bool = False  # part of taking the layer away (driver or cluster setup removed)

    def __post_init__(self) -> None:
        if (self.argv is None) == (self.edit is None):
            raise ValueError(f"step {self.id}: exactly one of argv and edit must be set")
        if self.skip_if is not None and not isinstance(self.skip_if, Guard):
            raise TypeError(f"step {self.id}: skip_if must be a Guard, not {type(self.skip_if).__name__}")


class NotAutomated(Exception):
    """A planner's way to say why it plans nothing for a layer that needs work (becomes a PlanNote)."""


@dataclass(frozen=True)
class PlanNote:
    """Why a layer has no (or fewer) steps; layer None: about the whole plan."""

    layer: Layer | None
    text: str

    def __str__(self) -> str:
        return f"{self.layer.title}: {self.text}" if self.layer else self.text


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...] = ()
    notes: tuple[PlanNote, ...] = field(default=())

    @property
    def needs_reboot(self) -> bool:
        return any(s.reboot for s in self.steps)

    @property
    def needs_root(self) -> bool:
        return any(s.needs_root for s in self.steps)


# --- renderings ---------------------------------------------------------------------------


def render_steps(plan: Plan) -> str:
    """The steps as text; plan_summary.render_text adds what they change (the `plan` and `apply` text)."""
    if not plan.steps:
        return "\n".join(["No steps to run.", *map(str, plan.notes)]) + "\n"
    lines = [f"Plan: {len(plan.steps)} step(s)"]
    for n, step in enumerate(plan.steps, 1):
        root = " (root)" if step.needs_root else ""
        root += " (asks you at the terminal)" if step.interactive else ""
        lines.append("")
        lines.append(f"{n}. [{step.layer.value}] {step.title}{root}")
        if step.why:
            lines.append(f"   why: {step.why}")
        if step.skip_if:
            lines.append(f"   skipped when: {step.skip_if}")
        if step.argv:
            lines.append(f"   $ {shlex.join(step.argv)}")
        if step.edit:
            lines.append(f"   edit {step.edit.path}:")
            lines += ["     " + line for line in step.edit.diff().splitlines()]
        for unit in step.restarts:
            lines.append(f"   $ systemctl restart {unit}")
        if step.reboot:
            lines.append("   then: reboot")
    lines += ["", *map(str, plan.notes)] if plan.notes else []
    if plan.needs_reboot:
        lines += ["", "A reboot is needed after this plan; run gpuwiz again afterwards."]
    return "\n".join(lines) + "\n"


def _heredoc_tag(text: str) -> str:
    n = 0
    while f"GPUWIZ_EOF_{n}" in text:
        n += 1
    return f"GPUWIZ_EOF_{n}"


def _sh_edit(edit: FileEdit) -> list[str]:
    path = shlex.quote(edit.path)
    text = edit.new_text if edit.new_text.endswith("\n") or not edit.new_text else edit.new_text + "\n"
    tag = _heredoc_tag(text)
    lines = ['tmp="$(mktemp)"']
    if edit.new_text.endswith("\n") or not edit.new_text:
        lines.append(f"cat > \"$tmp\" <<'{tag}'")
        lines += text.splitlines()
        lines.append(tag)
    else:  # keep a missing final newline exactly
        lines.append(f"printf '%s' {shlex.quote(edit.new_text)} > \"$tmp\"")
    lines.append(f'if ! cmp -s "$tmp" {path}; then')
    lines.append(f"  if [ -e {path} ]; then")
    lines.append(f'    mkdir -p "$backup_dir$(dirname {path})" && cp -p {path} "$backup_dir"{path}')
    if edit.mode is None:
        lines.append(
            f'    install -m "$(stat -c %a {path})" -o "$(stat -c %u {path})" -g "$(stat -c %g {path})" "$tmp" {path}'
        )
    else:
        lines.append(f'    install -m {edit.mode:04o} "$tmp" {path}')
    lines.append("  else")
    lines.append(f'    install -D -m {(edit.mode if edit.mode is not None else 0o644):04o} "$tmp" {path}')
    lines.append("  fi")
    lines.append("fi")
    lines.append('rm -f "$tmp"')
    return lines


def render_sh(plan: Plan) -> str:
    lines = [
        "#!/usr/bin/env bash",
        f"# Generated by gpuwiz {__version__}: the same steps `gpuwiz apply` would run.",
        "set -euo pipefail",
    ]
    if not plan.steps:
        lines += ["", *[f"# {n}" for n in plan.notes or ["No steps to run."]], 'echo "gpuwiz: no steps to run"']
        return "\n".join(lines) + "\n"
    if plan.needs_root:
        lines += ['if [ "$(id -u)" -ne 0 ]; then echo "run this script as root (sudo)" >&2; exit 1; fi']
    if any(s.edit for s in plan.steps):
        lines += ['backup_dir="${XDG_STATE_HOME:-$HOME/.local/state}/gpuwiz/backups/$(date +%Y%m%d-%H%M%S)"']
    total = len(plan.steps)
    for n, step in enumerate(plan.steps, 1):
        lines += ["", f"# [{n}/{total}] {step.layer.value}: {step.title}"]
        if step.why:
            lines.append(f"# why: {step.why}")
        if step.interactive:
            lines.append("# asks you at the terminal: run this script from one")
        body = [shlex.join(step.argv)] if step.argv else _sh_edit(step.edit)  # type: ignore[arg-type]
        body += [f"systemctl restart {shlex.quote(u)}" for u in step.restarts]
        if step.skip_if:
            lines.append(step.skip_if.sh_unless())
            lines += ["  " + b if b else b for b in body]
            lines.append("fi")
        else:
            lines += body
    if plan.needs_reboot:
        lines += ["", 'echo "gpuwiz: a reboot is needed now; run gpuwiz again after it (this script does not reboot)."']
    return "\n".join(lines) + "\n"


def plan_document(plan: Plan, *, profile: str | None) -> dict[str, Any]:
    """The `plan --format json` document (docs/plan-json.md)."""
    steps = []
    for step in plan.steps:
        doc = to_jsonable(step)
        if step.edit:
            doc["edit"]["diff"] = step.edit.diff()
        steps.append(doc)
    return {
        "format": PLAN_FORMAT,
        "gpuwiz_version": __version__,
        "profile": profile,
        "needs_reboot": plan.needs_reboot,
        "needs_root": plan.needs_root,
        "notes": [{"layer": n.layer.value if n.layer else None, "text": n.text} for n in plan.notes],
        "steps": steps,
    }
