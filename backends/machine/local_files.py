"""This machine's files as gpuwiz reads and writes them: kinds, bounded reads, atomic writes, locks.

- A read never blocks on a fifo or reads a device without end: only regular files are read
  (opened non-blocking, checked with fstat), and `limit` bounds how much.
- A write goes through a symlink to its target (the link stays a link), keeps mode bits
  (setuid included), owner and group, and renames a temp file into place. The temp file waits
  in the directory above the target's (CRI-O reads every file in crio.conf.d, containerd every
  file an `imports` glob matches, so a temp file beside the config would be config), unless that
  is another filesystem; one left by a killed gpuwiz is removed at the next write there.
- `DirLocks` serialises gpuwiz processes (and threads) that edit files in the same directory:
  flock on the directory itself, so no lock file lands where a daemon reads.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import stat
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

TEMP_PREFIX = ".gpuwiz-tmp-"
TEMP_SUFFIX = ".tmp"
LEGACY_TEMP_SUFFIX = ".gpuwiz-tmp"  # gpuwiz before 0.3 staged beside the target
LOCK_WAIT_S = 60.0

KINDS = {
    stat.S_IFREG: "file",
    stat.S_IFDIR: "directory",
    stat.S_IFIFO: "fifo",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFSOCK: "socket",
}


@dataclass(frozen=True)
class WriteResult:
    path: str
    backup: str | None  # None when the file did not exist before


class NotRegularFile(OSError):
    """The path is a directory, fifo, device or socket: gpuwiz reads and replaces regular files only."""

    def __init__(self, path: str, kind: str):
        super().__init__(errno.EINVAL, f"is a {kind}, not a regular file", path)
        self.kind = kind


def file_kind(path: str) -> str | None:
    """ "file", "directory", "fifo", … for what `path` names (through links); None when it does not exist."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return "file" if os.path.lexists(path) else None  # unreadable directory above: let the read say why
    return KINDS.get(stat.S_IFMT(mode), "special file")


def read_regular(path: str, limit: int | None = None) -> bytes:
    """The bytes of a regular file, at most `limit` (+1, so a caller can tell it was larger)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    try:
        kind = KINDS.get(stat.S_IFMT(os.fstat(fd).st_mode), "special file")
        if kind != "file":
            raise NotRegularFile(path, kind)
        chunks = []
        left = None if limit is None else limit + 1
        while left is None or left > 0:
            chunk = os.read(fd, 1 << 20 if left is None else min(1 << 20, left))
            if not chunk:
                break
            chunks.append(chunk)
            if left is not None:
                left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_target(path: str | Path) -> Path:
    """The file a write to `path` changes: a symlink's final target (relative links resolved)."""
    return Path(os.path.realpath(path)) if os.path.islink(path) else Path(os.path.abspath(path))


def staging_dir(target: Path) -> Path:
    """Where the temp file for `target` is made: the directory above, when on the same filesystem."""
    folder = target.parent
    above = folder.parent
    try:
        if above != folder and os.stat(above).st_dev == os.stat(folder).st_dev and os.access(above, os.W_OK):
            return above
    except OSError:
        pass
    return folder


def temp_name(target: Path) -> str:
    return f"{TEMP_PREFIX}{os.getpid()}-{target.name}-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_temps(folder: Path, target_dir: Path) -> list[Path]:
    """Temp files of gpuwiz processes that are gone, in `folder` (staging) and legacy ones in `target_dir`."""
    found = []
    for where in {folder, target_dir}:
        try:
            names = os.listdir(where)
        except OSError:
            continue
        for name in names:
            if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
                pid = name[len(TEMP_PREFIX) :].split("-", 1)[0]
                if pid.isdigit() and not _pid_alive(int(pid)):
                    found.append(where / name)
            elif name.endswith(LEGACY_TEMP_SUFFIX) and where == target_dir:
                found.append(where / name)
    return found


def remove_stale_temps(folder: Path, target_dir: Path) -> None:
    for path in stale_temps(folder, target_dir):
        with contextlib.suppress(OSError):
            path.unlink()


def backup_target(backup_root: Path, path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    where = os.path.abspath(path).lstrip("/")  # a relative path keeps its directory in the backup
    target = backup_root / stamp / where
    n = 1
    while target.exists():
        target = backup_root / f"{stamp}.{n}" / where
        n += 1
    return target


def atomic_write(
    path: str | Path, data: str | bytes, *, mode: int | None, backup_root: Path | None, keep_mode_of: Path | None = None
) -> WriteResult:
    """Write `data` to `path` atomically (temp file, fsync, rename), keeping mode and owner.

    An existing file is first copied to `backup_root/<timestamp>/<absolute path>` (None: gpuwiz's
    own files, such as its state, which need no backup). `keep_mode_of`: take mode and owner from
    that file instead (rollback puts a backup's mode back).
    """
    given = str(path)
    target = write_target(path)
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(given, KINDS.get(stat.S_IFMT(st.st_mode), "special file"))
    source = os.stat(keep_mode_of) if keep_mode_of is not None else st
    backup: str | None = None
    if st is not None and backup_root is not None:
        saved = backup_target(backup_root, Path(given))
        saved.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target, saved)
        backup = str(saved)
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = staging_dir(target)
    remove_stale_temps(folder, target.parent)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=temp_name(target), suffix=TEMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            # owner first: chown clears setuid/setgid, so the mode comes after it
            if source is not None and os.geteuid() == 0:
                os.fchown(fh.fileno(), source.st_uid, source.st_gid)
            os.fchmod(fh.fileno(), mode if mode is not None else (stat.S_IMODE(source.st_mode) if source else 0o644))
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    for folder_done in {target.parent, folder}:
        dir_fd = os.open(folder_done, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return WriteResult(given, backup)


def lock_dir(path: str | Path) -> Path:
    """The directory whose lock guards `path`: its (link target's) folder, or the nearest that exists."""
    folder = write_target(path).parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    return folder


class DirLocks:
    """Exclusive flock on directories, re-entrant within a thread (one per Host)."""

    def __init__(self, wait_s: float = LOCK_WAIT_S):
        self.wait_s = wait_s
        self._local = threading.local()

    def _held(self) -> dict[str, list[int]]:
        held = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = {}
        return held

    @contextlib.contextmanager
    def hold(self, paths: Iterable[str | Path]) -> Iterator[None]:
        held = self._held()
        taken: list[str] = []
        try:
            for folder in sorted({str(lock_dir(p)) for p in paths}):  # one order: no deadlock
                if folder in held:
                    held[folder][1] += 1
                else:
                    held[folder] = [self._lock(folder), 1]
                taken.append(folder)
            yield
        finally:
            for folder in reversed(taken):
                entry = held[folder]
                entry[1] -= 1
                if entry[1] == 0:
                    del held[folder]
                    os.close(entry[0])  # closing the descriptor releases the flock

    def _lock(self, folder: str) -> int:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise TimeoutError(
                        errno.ETIMEDOUT,
                        f"another gpuwiz has been editing files in {folder} for {self.wait_s:.0f} s; "
                        "wait for it to end, then run this again",
                    ) from None
                time.sleep(0.02)
            except BaseException:
                os.close(fd)
                raise
