"""Adding the NVIDIA runtime to Docker's daemon.json, keeping every other key (other `features` too).

JSON has no comments; key order and the file's indentation are kept. nvidia-ctk 1.20 rewrites
`features` with only `cdi` in it; here `features.cdi` is set and the rest stays.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gpuwiz.backends.configs.containerd_edit import RuntimeSettings
from gpuwiz.backends.errors import InputError
from gpuwiz.backends.runs.plan import FileEdit

DOCKER_CONFIG = "/etc/docker/daemon.json"
SNAP_DOCKER_CONFIG = "/var/snap/docker/current/config/daemon.json"


def parse_daemon_json(path: str, text: str | None) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    if not isinstance(data, dict):
        raise InputError(path, "the top level must be a JSON object ({…})")
    return data


def _indent(text: str | None) -> str | int:
    """The file's own indentation unit (tab or N spaces); 4 for a new file, as nvidia-ctk writes."""
    match = re.search(r"^([ \t]+)\"", text or "", re.MULTILINE)
    if not match:
        return 4
    unit = match.group(1)
    return "\t" if unit.startswith("\t") else len(unit)


def _object(path: str, data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.setdefault(key, {})
    if not isinstance(value, dict):
        raise InputError(path, f"must be a JSON object, not {type(value).__name__}", key=key)
    return value


def configure_docker(path: str, text: str | None, settings: RuntimeSettings) -> list[FileEdit]:
    data = parse_daemon_json(path, text)
    runtimes = _object(path, data, "runtimes")
    entry = runtimes.setdefault(settings.name, {})
    if not isinstance(entry, dict):
        raise InputError(path, "must be a JSON object", key=f"runtimes.{settings.name}")
    entry["path"] = settings.path
    if "args" not in entry:
        entry["args"] = []
    elif not isinstance(entry["args"], list):
        raise InputError(path, "must be a JSON array", key=f"runtimes.{settings.name}.args")
    if settings.set_as_default:
        data["default-runtime"] = settings.name
    if settings.cdi:
        _object(path, data, "features")["cdi"] = True
    if text is not None and text.strip() and parse_daemon_json(path, text) == data:
        return []  # nothing to change: the file's own formatting stays as it is
    new = json.dumps(data, indent=_indent(text), ensure_ascii=False) + "\n"
    return [FileEdit(path, new, old_text=text)]
