"""`gpuwiz rollback`: put back the files the last run wrote, newest first, and say which.

A file the run changed gets its backup's bytes and mode again (through a symlink, which stays
one); a file the run created is removed
(backed up first, like every write). Commands the run executed (packages installed) are not
undone: rollback is about files, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpuwiz.backends.machine.host import Host
from gpuwiz.backends.runs.run_state import RunState


@dataclass(frozen=True)
class RollbackAction:
    path: str
    backup: str | None  # None: the run created the file, rollback removes it
    problem: str = ""  # why it cannot be done (backup gone)

    def describe(self) -> str:
        if self.problem:
            return f"cannot restore {self.path}: {self.problem}"
        if self.backup is None:
            return f"remove {self.path} (the run created it)"
        return f"restore {self.path} from {self.backup}"


def rollback_actions(host: Host, state: RunState) -> list[RollbackAction]:
    actions = []
    # the oldest backup of each path is its content before the run
    first: dict[str, str | None] = {}
    for written in state.files:
        first.setdefault(written.path, written.backup)
    for path in reversed(list(first)):
        backup = first[path]
        if backup is not None and host.file_kind(backup) != "file":
            actions.append(RollbackAction(path, backup, "the backup is gone"))
        elif backup is None and not host.exists(path):
            continue  # created, and gone already
        else:
            actions.append(RollbackAction(path, backup))
    return actions


def apply_rollback(host: Host, actions: list[RollbackAction]) -> list[str]:
    """Do the actions; return one line per file saying what happened."""
    lines = []
    for action in actions:
        if action.problem:
            lines.append(action.describe())
            continue
        try:
            if action.backup is None:
                result = host.remove_file(action.path)
                lines.append(f"removed {action.path} (kept as {result.backup})")
            else:
                host.restore_file(action.path, action.backup)
                lines.append(f"restored {action.path}")
        except OSError as exc:
            lines.append(f"cannot restore {action.path}: {exc.strerror or exc}")
    return lines
