"""RecordingHost: wraps a Host and keeps every answer it gave (what `profile capture` writes, and what
the runtime probe hands the planner as a FileView)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Iterator, Sequence

from gpuwiz.backends.machine.host import DEFAULT_TIMEOUT, CommandResult, Host, WriteResult
from gpuwiz.backends.machine.processes import ProcessInfo
from gpuwiz.backends.machine.profiles import encode_file_bytes


class _RecordingEnv(Mapping[str, str]):
    def __init__(self, env: Mapping[str, str], seen: dict[str, str]):
        self._env, self._seen = env, seen

    def __getitem__(self, key: str) -> str:
        value = self._env[key]
        self._seen[key] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)


class RecordingHost:
    """Passes every call to the real host and remembers the answers. Refuses to write."""

    simulated = False

    def __init__(self, inner: Host):
        self.inner = inner
        self.files: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.commands: dict[str, CommandResult] = {}
        self.executables: dict[str, str] = {}
        self.env_seen: dict[str, str] = {}
        self.processes: dict[int, ProcessInfo] = {}

    @property
    def env(self) -> Mapping[str, str]:
        return _RecordingEnv(self.inner.env, self.env_seen)

    @property
    def user(self) -> str:
        return self.inner.user

    def run(
        self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT, root: bool = False, input: str | None = None
    ) -> CommandResult:
        result = self.inner.run(argv, timeout=timeout, root=root, input=input)
        if not result.not_found:
            self.commands[shlex.join(argv)] = result
        return result

    def terminate_running(self) -> None:
        self.inner.terminate_running()

    def which(self, name: str) -> str | None:
        path = self.inner.which(name)
        if path:
            self.executables[name] = path
        return path

    def read_text(self, path: str) -> str | None:
        text = self.inner.read_text(path)
        if text is not None:
            self.files[path] = text
        return text

    def read_bytes(self, path: str, limit: int | None = None) -> bytes | None:
        data = self.inner.read_bytes(path, limit)
        if data is not None:
            self.files[path] = encode_file_bytes(data)
        return data

    def file_kind(self, path: str) -> str | None:
        return self.inner.file_kind(path)

    def exists(self, path: str) -> bool:
        found = self.inner.exists(path)
        if found and not self.inner.is_dir(path) and path not in self.files:
            link = self.inner.readlink(path)
            if link is not None:
                self.links[path] = link
            else:
                self.files[path] = ""  # a device node or a file only tested for existence
        return found

    def is_dir(self, path: str) -> bool:
        return self.inner.is_dir(path)

    def list_dir(self, path: str) -> list[str]:
        return self.inner.list_dir(path)

    def readlink(self, path: str) -> str | None:
        link = self.inner.readlink(path)
        if link is not None:
            self.links[path] = link
        return link

    def write_text(self, path: str, text: str, *, mode: int | None = None) -> WriteResult:
        raise PermissionError("profile capture never writes")

    def restore_file(self, path: str, backup: str) -> WriteResult:
        raise PermissionError("profile capture never writes")

    def locked(self, paths: Sequence[str]) -> AbstractContextManager[None]:
        return nullcontext()

    def nvml(self) -> Any:
        return self.inner.nvml()

    def process_info(self, pid: int) -> ProcessInfo | None:
        info = self.inner.process_info(pid)
        if info is not None:
            self.processes[pid] = info
        return info

    def signal_process(self, pid: int, signum: int) -> str | None:
        return "profile capture never signals a process"
