"""The shapes the runtime editors rely on, checked before they edit: a table where a table must be.

`nvidia = "x"` under `runtimes`, `options = 5` or `runc.options = "s"` is TOML but no config
containerd or CRI-O reads; the editors descend into these tables, so a wrong type is reported
here as the file's error (exit 2, the key named) instead of crashing inside an edit.
"""

from __future__ import annotations

from typing import Any, Mapping

from gpuwiz.backends.errors import InputError
from gpuwiz.backends.toml_compat import tomllib

CRI_PLUGINS = ("io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime")
TYPE_NAMES = {str: "a string", int: "an integer", float: "a float", bool: "a boolean", list: "an array"}


def _kind(value: Any) -> str:
    return TYPE_NAMES.get(type(value), type(value).__name__)


def _dotted(keys: tuple[str, ...]) -> str:
    return ".".join(k if k.replace("_", "").replace("-", "").isalnum() else f'"{k}"' for k in keys)


def _table(path: str, data: Mapping[str, Any], keys: tuple[str, ...]) -> Mapping[str, Any] | None:
    """The table at `keys` (None when absent); InputError when something on the way is not a table."""
    node: Any = data
    for n, key in enumerate(keys):
        if key not in node:
            return None
        node = node[key]
        if not isinstance(node, Mapping):
            raise InputError(path, f"must be a table, not {_kind(node)}", key=_dotted(keys[: n + 1]))
    return node


def _runtimes(path: str, data: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    runtimes = _table(path, data, keys)
    for name, entry in (runtimes or {}).items():
        where = (*keys, name)
        if not isinstance(entry, Mapping):
            raise InputError(path, f"must be a table, not {_kind(entry)}", key=_dotted(where))
        if "options" in entry and not isinstance(entry["options"], Mapping):
            raise InputError(path, f"must be a table, not {_kind(entry['options'])}", key=_dotted((*where, "options")))


def _strings(path: str, table: Mapping[str, Any] | None, keys: tuple[str, ...], names: tuple[str, ...]) -> None:
    for name in names:
        if table is not None and name in table and not isinstance(table[name], str):
            raise InputError(path, f"must be a string, not {_kind(table[name])}", key=_dotted((*keys, name)))


def check_containerd_shapes(path: str, text: str | None) -> None:
    data = _parsed(text)
    if data is None:
        return
    for plugin in CRI_PLUGINS:
        keys = ("plugins", plugin, "containerd")
        containerd = _table(path, data, keys)
        _strings(path, containerd, keys, ("default_runtime_name",))
        for single in ("default_runtime", "untrusted_workload_runtime"):
            entry = _table(path, data, (*keys, single))
            if entry is not None and "options" in entry and not isinstance(entry["options"], Mapping):
                raise InputError(path, "must be a table", key=_dotted((*keys, single, "options")))
        _runtimes(path, data, (*keys, "runtimes"))


def check_crio_shapes(path: str, text: str | None) -> None:
    data = _parsed(text)
    if data is None:
        return
    keys = ("crio", "runtime")
    runtime = _table(path, data, keys)
    _strings(path, runtime, keys, ("default_runtime",))
    _runtimes(path, data, (*keys, "runtimes"))


def _parsed(text: str | None) -> Mapping[str, Any] | None:
    try:
        return tomllib.loads(text or "")
    except tomllib.TOMLDecodeError:
        return None  # malformed: the editor reports the line
