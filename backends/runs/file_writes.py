"""Writing FileEdits: under the edit lock, only onto what they were computed from, all or nothing.

Every path that changes a system file (`runtime configure`, a plan's steps, rollback) writes
through here or through the Host's own locked writes, so two gpuwiz processes never lose each
other's change: the second one waits for the lock, sees the file changed, and (for `runtime
configure`) reads it again and applies its change on top.
"""

from __future__ import annotations

from typing import Callable, Sequence, TypeVar

from gpuwiz.backends.errors import ActionFailed, InputError
from gpuwiz.backends.machine.host import Host, WriteResult
from gpuwiz.backends.machine.input_file import decode_strict
from gpuwiz.backends.runs.plan import FileEdit

ATTEMPTS = 20
T = TypeVar("T")


class FileChanged(ActionFailed):
    """The file no longer holds what the edit was computed from (another process wrote it)."""

    def __init__(self, path: str):
        super().__init__(f"{path} changed while gpuwiz was editing it; nothing of this change was written")
        self.path = path


def write_edits(host: Host, edits: Sequence[FileEdit]) -> list[WriteResult]:
    """Write every edit or none: a failed write puts back the files written before it."""
    with host.locked([e.path for e in edits]):
        for edit in edits:
            kind = host.file_kind(edit.path)
            if kind not in (None, "file"):
                raise InputError(edit.path, f"is a {kind}, not a regular file: nothing was written")
            if _current_text(host, edit.path, kind) != edit.old_text:
                raise FileChanged(edit.path)
        done: list[tuple[FileEdit, WriteResult]] = []
        try:
            for edit in edits:
                done.append((edit, host.write_text(edit.path, edit.new_text, mode=edit.mode)))
        except BaseException:
            for edit, _ in reversed(done):
                _undo(host, edit)
            raise
    return [result for _, result in done]


def _current_text(host: Host, path: str, kind: str | None) -> str | None:
    """What the file holds now, strictly decoded: an edit computed from a lossy reading (U+FFFD for
    bytes that are not UTF-8) must never be written back over the bytes."""
    if kind is None:
        return None
    data = host.read_bytes(path)
    return None if data is None else decode_strict(path, data)


def _undo(host: Host, edit: FileEdit) -> None:
    try:
        if edit.old_text is None:
            host.remove_file(edit.path)
        else:
            host.write_text(edit.path, edit.old_text)
    except OSError:
        pass  # the backup taken before the write is still there; the error being raised says what failed


def write_fresh(
    host: Host, compute: Callable[[], T], edits_of: Callable[[T], Sequence[FileEdit]]
) -> tuple[T, list[WriteResult]]:
    """Compute edits from the files as they are and write them; when another process wrote one
    of the files in between, compute again from the new content (bounded)."""
    changed: FileChanged | None = None
    for _ in range(ATTEMPTS):
        result = compute()
        edits = edits_of(result)
        if not edits:
            return result, []
        try:
            return result, write_edits(host, edits)
        except FileChanged as exc:
            changed = exc
    assert changed is not None
    raise changed
