"""Answers files: the user's choices as a commented TOML file (docs/answers.md).

`answers_text` writes one (the wizard's "Save answers"); `load_answers` reads one back into
selections (`"driver.branch" → "580"`) with errors that name the file, line and key. What is
written is every choice offered on this machine, with the options and the recommendation as
comments, so the file explains itself when it is copied to the next node.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import tomlkit

from .choices import Choice, Selections, effective, selections_from_answers
from .errors import InputError
from .findings import LAYERS
from .toml_compat import toml_error_line, tomllib

HEADER = (
    "gpuwiz answers file: the choices for `gpuwiz apply --answers FILE` (docs/answers.md).",
    "One table per layer. A choice that does not arise on a node is noted in its plan and skipped,",
    "so one file serves several nodes alike.",
)


def answers_text(choices: list[Choice], selections: Selections, *, machine: str = "") -> str:
    doc = tomlkit.document()
    for line in HEADER:
        doc.add(tomlkit.comment(line))
    if machine:
        doc.add(tomlkit.comment(f"Saved on {machine}."))
    values = effective(choices, selections)
    for layer in LAYERS:
        mine = [c for c in choices if c.layer is layer]
        if not mine:
            continue
        table = tomlkit.table()
        for choice in mine:
            options = " | ".join(o.value for o in choice.options)
            also = " | a version" if choice.pattern else ""
            table.add(tomlkit.comment(f"{choice.title}: {options}{also}"))
            table.add(tomlkit.comment(f"recommended here: {choice.recommended} ({choice.reason.rstrip('.')})"))
            table.add(choice.name, values[choice.key])
        doc.add(tomlkit.nl())
        doc.add(layer.value, table)
    return tomlkit.dumps(doc)


def load_answers(path: str) -> dict[str, str]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"not valid TOML: {exc}", line=toml_error_line(exc)) from None
    from .planners import check_known_keys

    selections = selections_from_answers(data, source=path)
    check_known_keys(selections, source=path)
    return selections


def save_answers(path: Path, text: str) -> None:
    """Atomically: a half-written answers file must never be what the next node reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
