"""The choices a layer offers (driver branch, install method, …), each with a recommended option and why.

Planners say what can be chosen on this machine (`Planner.choices(report)`); the user's picks
(TUI widgets, an answers file) come back as a `Selections` mapping `"driver.branch" → "570"`.
A key nobody offered or a value that is not among the options is an InputError naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from gpuwiz.backends.errors import InputError
from gpuwiz.backends.findings import Layer

Selections = Mapping[str, str]


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    note: str = ""  # a caveat shown beside the option ("needs the MOK enrolled under Secure Boot")
    confirm: str = ""  # choosing it needs a yes to this question first (removing the driver)
    # choosing it chooses these too: (key, value), e.g. a branch only NVIDIA's repository has
    # chooses that install method (see with_pick)
    requires: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Choice:
    key: str  # "driver.branch": layer value, a dot, the answers-file key
    layer: Layer
    title: str
    options: tuple[Option, ...]
    recommended: str
    reason: str  # one line: why the recommended option
    pattern: str = ""  # answers files may also give any value matching this (a package version)

    def accepts(self, value: str) -> bool:
        return value in self.values or bool(self.pattern and re.fullmatch(self.pattern, value))

    def __post_init__(self) -> None:
        if self.recommended not in self.values:
            raise ValueError(f"choice {self.key}: recommended {self.recommended!r} is not an option")

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(o.value for o in self.options)

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


def effective(choices: list[Choice], selections: Selections) -> dict[str, str]:
    """Every offered choice's value: the selection where one was made, else the recommendation."""
    return {c.key: selections.get(c.key, c.recommended) for c in choices}


def with_pick(choices: list[Choice], picks: Selections, key: str, value: str) -> tuple[dict[str, str], list[str]]:
    """The picks after choosing `value` for `key`, and what else that changed, said.

    What the chosen option requires is chosen with it; another choice whose value (picked or
    recommended) needs something this pick changed goes to its first option that fits (the
    recommended one first). Nothing changes silently: each such change is one sentence."""
    by_key = {c.key: c for c in choices}
    new = {**picks, key: value}
    said: list[str] = []
    chosen = by_key[key].option(value) if key in by_key else None
    for other, needed in chosen.requires if chosen else ():
        target = by_key.get(other)
        if target is not None and effective([target], new)[other] != needed:
            new[other] = needed
            said.append(
                f"{by_key[key].title} {chosen.label} needs {target.title} {_label(target, needed)}: chosen with it."
            )
    fixed = {key, *(k for k, _ in (chosen.requires if chosen else ()))}
    for choice in choices:
        if choice.key in fixed:
            continue
        current = choice.option(effective([choice], new)[choice.key])
        if current is None or _fits(current, new, by_key):
            continue
        fitting = sorted(choice.options, key=lambda o: o.value != choice.recommended)
        replacement = next((o for o in fitting if _fits(o, new, by_key)), None)
        if replacement is None:
            continue  # nothing fits: the plan says why (the planner refuses it)
        new[choice.key] = replacement.value
        said.append(
            f"{choice.title} {current.label} needs {_needs(current, by_key)}: {choice.title} is {replacement.label} now."
        )
    return new, said


def _fits(option: Option, picks: Selections, by_key: dict[str, Choice]) -> bool:
    return all(k not in by_key or effective([by_key[k]], picks)[k] == v for k, v in option.requires)


def _label(choice: Choice, value: str) -> str:
    option = choice.option(value)
    return option.label if option else value


def _needs(option: Option, by_key: dict[str, Choice]) -> str:
    return ", ".join(f"{by_key[k].title} {_label(by_key[k], v)}" for k, v in option.requires if k in by_key)


def fit_selections(
    choices: list[Choice], selections: Selections, *, source: str = "answers"
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The selections this machine can take, and (key, what was done) for each it cannot.

    One answers file serves several nodes, also across distributions, so a value that is valid
    but not offered here (R535 where NVIDIA's RHEL repository starts at R570, Ubuntu's installer on
    Rocky) is not an error: a branch becomes the nearest one offered (the newer on a tie: an older
    one may not drive the GPU), anything else this node's recommendation; each is said, naming the
    file and key. Keys not offered here are left to the caller; typos are caught before
    (planners.check_known_keys)."""
    by_key = {c.key: c for c in choices}
    fitted: dict[str, str] = {}
    said: list[tuple[str, str]] = []
    for key, value in selections.items():
        choice = by_key.get(key)
        if choice is None or choice.accepts(value):
            fitted[key] = value
            continue
        numeric = [v for v in choice.values if v.isdigit()]
        if value.isdigit() and numeric:
            used = min(numeric, key=lambda v: (abs(int(v) - int(value)), -int(v)))
            how = "the nearest it offers"
        else:
            used, how = choice.recommended, "its recommendation"
        fitted[key] = used
        said.append(
            (
                key,
                f"{source}: {key} = {value!r} is not offered on this node (it offers {', '.join(choice.values)}); "
                f"planned with {used!r}, {how}.",
            )
        )
    return fitted, said


def selections_from_answers(data: Mapping[str, Any], *, source: str) -> dict[str, str]:
    """`[driver] branch = "570"` → {"driver.branch": "570"}; wrong shapes are InputErrors naming the key."""
    layers = {layer.value for layer in Layer}
    out: dict[str, str] = {}
    for table, values in data.items():
        if table not in layers:
            raise InputError(source, f"[{table}]: not a layer (one of {', '.join(sorted(layers))})")
        if not isinstance(values, Mapping):
            raise InputError(source, f"{table}: must be a table ([{table}])")
        for key, value in values.items():
            if not isinstance(value, str):
                shown = str(value).lower() if isinstance(value, bool) else value
                raise InputError(source, f'must be a string: write {key} = "{shown}"', key=f"{table}.{key}")
            out[f"{table}.{key}"] = value
    return out
