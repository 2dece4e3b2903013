"""A read-only Host made of recorded answers: what a probe read, replayed to a planner.

Planners see Facts, not the machine. The runtime probe records the files, executables and
command outputs that `runtime configure` reads (through capture.RecordingHost); the runtime
planner replays them here, so the editors compute the same edits from the facts alone.
"""

from __future__ import annotations

import posixpath
import shlex
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from gpuwiz.backends.machine.host import DEFAULT_TIMEOUT, RC_NOT_FOUND, CommandResult, WriteResult
from gpuwiz.backends.machine.profiles import decode_file_bytes


@dataclass(frozen=True)
class FileView:
    files: tuple[tuple[str, str], ...] = ()
    executables: tuple[tuple[str, str], ...] = ()
    commands: tuple[tuple[str, int, str], ...] = ()  # (shlex.join(argv), returncode, stdout)
    env_items: tuple[tuple[str, str], ...] = ()
    user_name: str = "root"

    simulated = True

    @classmethod
    def from_recording(cls, recording: Any, user: str) -> FileView:
        return cls(
            files=tuple(sorted(recording.files.items())),
            executables=tuple(sorted(recording.executables.items())),
            commands=tuple((k, r.returncode, r.stdout) for k, r in sorted(recording.commands.items())),
            env_items=tuple(sorted(recording.env_seen.items())),
            user_name=user,
        )

    @property
    def env(self) -> Mapping[str, str]:
        return dict(self.env_items)

    @property
    def user(self) -> str:
        return self.user_name

    def run(
        self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT, root: bool = False, input: str | None = None
    ) -> CommandResult:
        for key, rc, stdout in self.commands:
            if key == shlex.join(argv):
                return CommandResult(tuple(argv), rc, stdout, "")
        return CommandResult(tuple(argv), RC_NOT_FOUND, "", "not recorded")

    def terminate_running(self) -> None:
        return None

    def which(self, name: str) -> str | None:
        return dict(self.executables).get(name)

    def read_text(self, path: str) -> str | None:
        return dict(self.files).get(posixpath.normpath(path))

    def read_bytes(self, path: str, limit: int | None = None) -> bytes | None:
        return decode_file_bytes(self.read_text(path))

    def file_kind(self, path: str) -> str | None:
        if posixpath.normpath(path) in dict(self.files):
            return "file"
        return "directory" if self.is_dir(path) else None

    def exists(self, path: str) -> bool:
        path = posixpath.normpath(path)
        return path in dict(self.files) or self.is_dir(path)

    def is_dir(self, path: str) -> bool:
        prefix = posixpath.normpath(path).rstrip("/") + "/"
        return any(p.startswith(prefix) for p, _ in self.files)

    def list_dir(self, path: str) -> list[str]:
        prefix = posixpath.normpath(path).rstrip("/") + "/"
        return sorted({p[len(prefix) :].split("/", 1)[0] for p, _ in self.files if p.startswith(prefix)})

    def readlink(self, path: str) -> str | None:
        return None

    def write_text(self, path: str, text: str, *, mode: int | None = None) -> WriteResult:
        raise PermissionError(f"a FileView is read-only ({path})")

    def restore_file(self, path: str, backup: str) -> WriteResult:
        raise PermissionError(f"a FileView is read-only ({path})")

    def locked(self, paths: Sequence[str]) -> AbstractContextManager[None]:
        return nullcontext()

    def nvml(self) -> Any:
        raise RuntimeError("a FileView has no NVML")

    def process_info(self, pid: int) -> None:
        return None

    def signal_process(self, pid: int, signum: int) -> str | None:
        return "a FileView is read-only"
