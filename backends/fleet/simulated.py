"""A simulated fleet node's disk: the machine a run left, saved back as a profile.

A profile's changes live only in the gpuwiz process that ran the plan. A demo node must remember
that it was provisioned (the next run changes nothing, `doctor` sees the end state), so after a
run its profile file is rewritten as that end state: the `[after.LAYER]` overlays the run applied
folded into the records above (and dropped), and the files its steps wrote put in `[files]`.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import tomlkit

from gpuwiz.backends.machine.profiles import parse_profile


def machine_after_run(profile_text: str, applied: Sequence[str], written: Mapping[str, str | None], path: str) -> str:
    """The profile text of the machine after a run: `applied` are the overlays in the order the run
    applied them, `written` each path a step wrote with its final content (None: gone). Validated."""
    doc = tomlkit.parse(profile_text)
    after = doc.get("after", {})
    for layer in applied:
        overlay = after.get(layer)
        if overlay is None:
            continue
        _fold(doc, overlay)
        del after[layer]
    if "after" in doc and not doc["after"]:
        del doc["after"]
    if written:
        files = _table(doc, "files")
        for file_path, text in written.items():
            if text is None:
                files.pop(file_path, None)
            else:
                files[file_path] = text
    result = tomlkit.dumps(doc)
    parse_profile(result, path)  # never leave a node a disk gpuwiz cannot read
    return result


def _fold(doc: Any, overlay: Mapping[str, Any]) -> None:
    """ProfileHost.apply_overlay, on the TOML document (docs/profiles.md, `[after.LAYER]`)."""
    executables = doc["machine"].setdefault("executables", tomlkit.array())
    for name in overlay.get("executables", []):
        if name not in executables:
            executables.append(name)
    files = _table(doc, "files")
    for gone in overlay.get("remove_files", []):
        files.pop(gone, None)
    for key in ("files", "links", "commands", "processes"):
        if key in overlay:
            target = _table(doc, key)
            for name, value in overlay[key].items():
                target[name] = value
    if "nvml" in overlay:
        doc["nvml"] = overlay["nvml"]


def _table(doc: Any, key: str) -> Any:
    if key not in doc:
        doc[key] = tomlkit.table()
    return doc[key]
