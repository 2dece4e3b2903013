"""Answers files: the user's choices as a commented TOML file (docs/answers.md).

`answers_text` writes one (the wizard's "Save answers"); `load_answers` reads one back into
selections (`"driver.branch" → "580"`) with errors that name the file, line and key. What is
written is every choice offered on this machine, with the options and the recommendation as
comments, so the file explains itself when it is copied to the next node.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import tomlkit

from gpuwiz.backends.errors import InputError
from gpuwiz.backends.findings import LAYERS
from gpuwiz.backends.planners.choices import Choice, Selections, effective, selections_from_answers
from gpuwiz.backends.toml_compat import toml_error_line, tomllib

if TYPE_CHECKING:
    from gpuwiz.backends.machine.host import WriteResult

HEADER = (
    "gpuwiz answers file: the choices for `gpuwiz apply --answers FILE` (`gpuwiz help answers`).",
    "One table per layer. A choice that does not arise on a node is noted in its plan and skipped,",
    "so one file serves several nodes alike.",
)


def answers_text(
    choices: list[Choice], selections: Selections, *, machine: str = "", as_here: Selections | None = None
) -> str:
    """`as_here`: values of choices that do not arise on this machine (its driver is installed) but
    will on the next node: written so that node ends up the same (see same_state)."""
    doc = tomlkit.document()
    for line in HEADER:
        doc.add(tomlkit.comment(line))
    if machine:
        doc.add(tomlkit.comment(f"Saved on {machine}."))
    offered = {c.key for c in choices}
    here = {c.key: (as_here or {}).get(c.key) for c in choices}
    # a choice not picked: what this node has (its runtime's default), else the recommendation
    values = effective(choices, {**{k: v for k, v in here.items() if v is not None}, **selections})
    extra = {k: v for k, v in (as_here or {}).items() if k not in offered}
    for layer in LAYERS:
        mine = [c for c in choices if c.layer is layer]
        theirs = sorted(k for k in extra if k.startswith(layer.value + "."))
        if not mine and not theirs:
            continue
        table = tomlkit.table()
        for choice in mine:
            options = " | ".join(o.value for o in choice.options)
            also = " | a version" if choice.pattern else ""
            table.add(tomlkit.comment(f"{choice.title}: {options}{also}"))
            table.add(tomlkit.comment(f"recommended here: {choice.recommended} ({choice.reason.rstrip('.')})"))
            table.add(choice.name, values[choice.key])
        for key in theirs:
            table.add(tomlkit.comment("as on this node (the choice arises on a node that still needs it)"))
            table.add(key.split(".", 1)[1], extra[key])
        doc.add(tomlkit.nl())
        doc.add(layer.value, table)
    return tomlkit.dumps(doc)


def load_answers(path: str) -> dict[str, str]:
    from gpuwiz.backends.machine.input_file import read_local_input

    try:
        data = tomllib.loads(read_local_input(path, what="answers", syntax="toml"))
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"not valid TOML: {exc}", line=toml_error_line(exc)) from None
    from gpuwiz.backends.planners.registry import check_known_keys

    selections = selections_from_answers(data, source=path)
    check_known_keys(selections, source=path)
    return selections


def save_answers(path: Path, text: str, backup_root: Path | None = None) -> WriteResult:
    """Atomically (a half-written answers file must never be what the next node reads); an existing
    file is backed up first when `backup_root` is given."""
    from gpuwiz.backends.machine.host import atomic_write

    return atomic_write(path, text, mode=None, backup_root=backup_root)
