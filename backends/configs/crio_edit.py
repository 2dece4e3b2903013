"""Adding the NVIDIA runtime to CRI-O: a drop-in in /etc/crio/crio.conf.d/ (the folder CRI-O reads), or crio.conf.

CRI-O reads crio.conf, then every file of crio.conf.d in lexical order, later keys over earlier
ones; `/etc/crio/conf.d` (where nvidia-ctk 1.18–1.19 wrote) is never read. The runtime copies the
default runtime's entry (monitor settings, allowed annotations, …) without its `runtime_path` and
`runtime_root` (each runtime keeps its own state under /run/<name>). CDI needs no switch: CRI-O has
had it on since 1.23.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

import tomlkit

from gpuwiz.backends.configs.containerd_edit import RuntimeSettings, _child_table, _render, _set, parse_document
from gpuwiz.backends.errors import InputError
from gpuwiz.backends.runs.plan import FileEdit

CRIO_CONFIG = "/etc/crio/crio.conf"
DEFAULT_DROP_IN = "/etc/crio/crio.conf.d/99-nvidia.toml"
NOT_COPIED = ("runtime_path", "runtime_root")


def _runtime_table(path: str, data: Mapping[str, Any]) -> Mapping[str, Any]:
    node: Any = data
    for key in ("crio", "runtime", "runtimes"):
        node = node.get(key, {}) if isinstance(node, Mapping) else {}
        if not isinstance(node, Mapping):
            raise InputError(path, f"must be a table, not {type(node).__name__}", key=key)
    return node


def source_runtime(files: list[tuple[str, Mapping[str, Any]]], exclude: str = "nvidia") -> dict[str, Any]:
    """The default runtime's entry as CRI-O sees it (crio.conf, then drop-ins), else runc's, else crun's,
    without path and root; never the runtime being written, nor an NVIDIA runtime as the default."""
    default = "crun"
    merged: dict[str, dict[str, Any]] = {}
    for path, data in files:
        runtime = data.get("crio", {}).get("runtime", {}) if isinstance(data.get("crio"), Mapping) else {}
        if isinstance(runtime, Mapping) and isinstance(runtime.get("default_runtime"), str):
            default = runtime["default_runtime"]
        for name, entry in _runtime_table(path, data).items():
            if isinstance(entry, Mapping):
                merged.setdefault(name, {}).update(copy.deepcopy(dict(entry)))
    names = [default] if not default.startswith("nvidia") else []
    entry = next((merged[n] for n in (*names, "runc", "crun") if n != exclude and n in merged), {})
    return {k: v for k, v in entry.items() if k not in NOT_COPIED}


def configure_crio(
    target: str,
    target_text: str | None,
    others: list[tuple[str, str]],
    settings: RuntimeSettings,
    *,
    unset_default: bool = False,
) -> list[FileEdit]:
    """Edit `target` (the drop-in or crio.conf); `others`: the other files CRI-O reads, in its order.

    `unset_default`: without --set-as-default, a default_runtime naming this runtime goes (nvidia-ctk's
    meaning; only in the drop-in, gpuwiz's own file)."""
    doc = parse_document(target, target_text) if target_text and target_text.strip() else tomlkit.document()
    if not (target_text and target_text.strip()) and target != CRIO_CONFIG:
        doc.add(tomlkit.comment("Written by gpuwiz: the NVIDIA container runtime for CRI-O."))
    parsed = [(p, parse_document(p, t).unwrap()) for p, t in others if t.strip()]
    _runtime_table(target, doc.unwrap())
    source = source_runtime([*parsed, (target, doc.unwrap())], settings.name)
    crio = _child_table(doc, "crio", super_table=True)
    runtime = _child_table(crio, "runtime", super_table=bool(not settings.set_as_default))
    runtimes = _child_table(runtime, "runtimes", super_table=True)
    if settings.name in runtimes:
        entry = runtimes[settings.name]
    else:
        entry = tomlkit.table()
        for key, value in source.items():
            entry[key] = value
        runtimes[settings.name] = entry
        entry = runtimes[settings.name]
    _set(entry, "runtime_path", settings.path)
    _set(entry, "runtime_type", "oci")  # nvidia-container-runtime is an OCI runtime, whatever the copied one was
    if settings.set_as_default:
        _set(runtime, "default_runtime", settings.name)
    elif unset_default and runtime.get("default_runtime") == settings.name:
        del runtime["default_runtime"]
    new = _render(doc)
    return [] if new == target_text else [FileEdit(target, new, old_text=target_text)]
