"""The OCI prestart hook for the NVIDIA runtime hook (`--config-mode oci-hook`), as nvidia-ctk writes it.

CRI-O and podman run the hooks of /usr/share/containers/oci/hooks.d and /etc/containers/oci/hooks.d
(CRI-O's `hooks_dir`); the hook makes every container a GPU container without a runtime entry.
NVIDIA calls this mode deprecated: the runtime entry (the default mode) or CDI is the way now.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from gpuwiz.backends.runs.plan import FileEdit

DEFAULT_HOOK_BINARY = "/usr/bin/nvidia-container-runtime-hook"
# the PATH the hook runs with: these, and the hook's own folder when it is elsewhere
HOOK_PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def hook_document(hook_binary: str) -> dict[str, Any]:
    """The hook file's content (the field order is nvidia-ctk's)."""
    folder = posixpath.dirname(hook_binary)
    dirs = [*HOOK_PATH_DIRS, *([folder] if folder not in HOOK_PATH_DIRS else [])]
    return {
        "version": "1.0.0",
        "hook": {
            "path": hook_binary,
            "args": [posixpath.basename(hook_binary), "prestart"],
            "env": ["PATH=" + ":".join(dirs)],
        },
        "when": {"always": True, "commands": [".*"]},
        "stages": ["prestart"],
    }


def hook_text(hook_binary: str) -> str:
    return json.dumps(hook_document(hook_binary), indent=2) + "\n"


def hook_edits(path: str, old_text: str | None, hook_binary: str) -> list[FileEdit]:
    """The hook file at `path`, replacing whatever hook was there; nothing when it is already this one."""
    new = hook_text(hook_binary)
    return [] if new == old_text else [FileEdit(path, new, old_text=old_text)]
