"""The Host: the only door to the machine (run an argv, read, write, look up executables).

`RealHost` talks to this machine through `sh`; `ProfileHost` (profile_host.py) answers from a
machine profile. Nothing else in gpuwiz starts processes or touches system files.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import tempfile
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence

from gpuwiz.backends.machine.local_files import (
    DirLocks,
    WriteResult,
    atomic_write,
    backup_target,
    file_kind,
    read_regular,
    staging_dir,
    stale_temps,
    temp_name,
    write_target,
)

if TYPE_CHECKING:
    from gpuwiz.backends.machine.processes import ProcessInfo


DEFAULT_TIMEOUT = 30.0
RC_NOT_FOUND = 127
RC_TIMEOUT = 124


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def not_found(self) -> bool:
        return self.returncode == RC_NOT_FOUND


class Host(Protocol):
    """What probes, planners and the executor may ask of a machine."""

    @property
    def env(self) -> Mapping[str, str]: ...

    @property
    def user(self) -> str: ...

    @property
    def simulated(self) -> bool: ...

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        root: bool = False,
        input: str | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> CommandResult:
        """Run argv (as root through sudo when asked and not root). `on_output` gets each line of
        stdout and stderr as it comes; the result still carries both in full."""
        ...

    def which(self, name: str) -> str | None: ...

    def run_attached(self, argv: Sequence[str], *, root: bool = False) -> int:
        """Run a command that asks the person at this terminal (it gets stdin/stdout); its exit code."""
        ...

    def terminate_running(self) -> None:
        """Stop the commands this host is running right now (the app is quitting)."""
        ...

    def read_text(self, path: str) -> str | None: ...

    def read_bytes(self, path: str, limit: int | None = None) -> bytes | None:
        """A regular file's bytes (an apt keyring), at most `limit` + 1; None when it cannot be read."""
        ...

    def file_kind(self, path: str) -> str | None:
        """ "file", "directory", "fifo", "character device", … (through links); None: nothing there."""
        ...

    def exists(self, path: str) -> bool: ...

    def is_dir(self, path: str) -> bool: ...

    def list_dir(self, path: str) -> list[str]: ...

    def readlink(self, path: str) -> str | None: ...

    def write_text(self, path: str, text: str, *, mode: int | None = None) -> WriteResult: ...

    def remove_file(self, path: str) -> WriteResult:
        """Delete a file after backing it up (rollback of a file a run created)."""
        ...

    def restore_file(self, path: str, backup: str) -> WriteResult:
        """Put a backup back: its exact bytes and its mode (through a link, which stays a link)."""
        ...

    def locked(self, paths: Sequence[str]) -> AbstractContextManager[None]:
        """Hold the edit lock of these files' directories (other gpuwiz processes wait)."""
        ...

    def nvml(self) -> Any:
        """The NVML binding: the real `pynvml` module, or a fake with the same surface."""
        ...

    def process_info(self, pid: int) -> ProcessInfo | None: ...

    def signal_process(self, pid: int, signum: int) -> str | None:
        """Send a signal; None when it was sent, else why not (one sentence)."""
        ...


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="replace")


def backup_dir_default(env: Mapping[str, str]) -> Path:
    from gpuwiz.backends.machine.logs import state_dir

    return state_dir(env) / "backups"


def _writable(path: Path) -> bool:
    """Can this process replace `path` itself (the file and its directory, for the rename)?"""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        return False
    return not path.exists() or os.access(path, os.W_OK)


class RealHost:
    """This machine. Commands run through `sh` as argv lists, never through a shell."""

    simulated = False

    def __init__(
        self, env: Mapping[str, str] | None = None, backup_root: Path | None = None, *, euid: int | None = None
    ):
        """`euid`: act as that user id (tests of the non-root paths while running as root)."""
        self._euid = os.geteuid() if euid is None else euid
        self._sudo_password: str | None = None  # in memory only, for this process's life
        self._env = dict(os.environ if env is None else env)
        # Probes parse tools' output: keep it in the C locale's words whatever the user's language.
        self._env["LC_ALL"] = "C"
        self._running: dict[int, Any] = {}  # id -> sh.RunningCommand (not hashable)
        self._lock = threading.Lock()
        self._backup_root = backup_root or backup_dir_default(self._env)
        self._processes: Any = None  # a ProcessTable, made on first use (psutil imports late)
        self._dir_locks = DirLocks()

    @property
    def env(self) -> Mapping[str, str]:
        return self._env

    @property
    def user(self) -> str:
        import pwd

        try:
            return pwd.getpwuid(os.geteuid()).pw_name
        except KeyError:
            return str(os.geteuid())

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        root: bool = False,
        input: str | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> CommandResult:
        import sh  # imported here: ~40 ms that commands which run nothing need not pay

        argv = tuple(argv)
        run_argv = argv
        if root and self._euid != 0:
            if self._sudo_password is not None:  # -S: the password on stdin, -p '': no prompt in the output
                run_argv = ("sudo", "-S", "-p", "", "--", *argv)
                input = self._sudo_password + "\n" + (input or "")
            else:
                run_argv = ("sudo", "-n", "--", *argv)
        exe = self.which(run_argv[0])
        if exe is None:
            return CommandResult(argv, RC_NOT_FOUND, "", f"{run_argv[0]}: command not found")
        streams: dict[str, Any] = {}
        out_lines: list[str] = []
        err_lines: list[str] = []
        if on_output is not None:

            def collect(into: list[str]) -> Callable[[Any], None]:
                def line(chunk: Any) -> None:
                    text = _decode(chunk)
                    into.append(text)
                    on_output(text.rstrip("\n"))

                return line

            streams = {"_out": collect(out_lines), "_err": collect(err_lines)}
        try:
            running = sh.Command(exe)(
                *run_argv[1:],
                **streams,
                _bg=True,
                _ok_code=list(range(256)),
                _timeout=timeout,
                _in=input,
                _new_session=True,  # never share the TUI's terminal: a prompt must not land on it
                _tty_out=False,  # sh's default pty would start pagers (journalctl) and colour/progress output
                _bg_exc=False,
                _return_cmd=True,
                _env=self._env,
            )
        except OSError as exc:  # not executable, permission denied, …
            return CommandResult(argv, 126, "", f"{argv[0]}: {exc.strerror or exc}")
        with self._lock:
            self._running[id(running)] = running
        try:
            running.wait()
        except sh.TimeoutException as exc:
            return CommandResult(argv, RC_TIMEOUT, "", f"{argv[0]}: timed out after {timeout:g} s ({exc})")
        except sh.SignalException as exc:
            return CommandResult(argv, 128 + abs(exc.exit_code), _decode(exc.stdout), _decode(exc.stderr))
        finally:
            with self._lock:
                self._running.pop(id(running), None)
        if on_output is not None:
            return CommandResult(argv, running.exit_code, "".join(out_lines), "".join(err_lines))
        return CommandResult(argv, running.exit_code, _decode(running.stdout), _decode(running.stderr))

    def run_attached(self, argv: Sequence[str], *, root: bool = False) -> int:
        import subprocess

        argv = tuple(argv)
        if root and self._euid != 0:
            argv = ("sudo", "--", *argv)  # at the terminal sudo may ask for the password itself
        exe = self.which(argv[0])
        if exe is None:
            return RC_NOT_FOUND
        return subprocess.call([exe, *argv[1:]], env=self._env)

    def sudo_mode(self) -> str:
        """How root commands run: "root", "passwordless", "password" (ask once) or "none" (no sudo)."""
        if self._euid == 0:
            return "root"
        if self.which("sudo") is None:
            return "none"
        if self._sudo_password is not None:
            return "password"
        return "passwordless" if self.run(("sudo", "-n", "true"), timeout=10).ok else "password"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings a log must never contain (the sudo password)."""
        return (self._sudo_password,) if self._sudo_password else ()

    def set_sudo_password(self, password: str) -> bool:
        """Keep the password for this process's root commands if sudo accepts it (`sudo -S -v`)."""
        result = self.run(("sudo", "-S", "-p", "", "-v"), input=password + "\n", timeout=20)
        if result.ok:
            self._sudo_password = password
        return result.ok

    def terminate_running(self) -> None:
        """Stop every command still running (a cancelled worker does not stop its child)."""
        with self._lock:
            running = list(self._running.values())
        for command in running:
            try:
                command.process.signal_group(signal.SIGTERM)
            except OSError:
                pass

    def which(self, name: str) -> str | None:
        if "/" in name:
            return name if os.access(name, os.X_OK) and not os.path.isdir(name) else None
        path = self._env.get("PATH", os.defpath)
        # Probes look for system tools that often live in sbin even when PATH lacks it.
        extra = [d for d in ("/usr/local/sbin", "/usr/sbin", "/sbin") if d not in path.split(":")]
        return shutil.which(name, path=":".join([path, *extra]))

    def read_text(self, path: str) -> str | None:
        data = self.read_bytes(path)
        return None if data is None else _decode(data)

    def read_bytes(self, path: str, limit: int | None = None) -> bytes | None:
        try:
            return read_regular(path, limit)
        except OSError:
            return None

    def file_kind(self, path: str) -> str | None:
        return file_kind(path)

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def list_dir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(path))
        except OSError:
            return []

    def readlink(self, path: str) -> str | None:
        try:
            return os.readlink(path)
        except OSError:
            return None

    def write_text(self, path: str, text: str, *, mode: int | None = None) -> WriteResult:
        with self.locked([path]):
            if self._euid != 0 and not _writable(write_target(path)):
                return self._write_with_sudo(write_target(path), path, text.encode("utf-8"), mode)
            return atomic_write(path, text, mode=mode, backup_root=self._backup_root)

    def restore_file(self, path: str, backup: str) -> WriteResult:
        with self.locked([path]):
            if self._euid != 0 and not _writable(write_target(path)):
                data = read_regular(backup)
                return self._write_with_sudo(write_target(path), path, data, os.stat(backup).st_mode & 0o7777)
            return atomic_write(
                path, read_regular(backup), mode=None, backup_root=self._backup_root, keep_mode_of=Path(backup)
            )

    def remove_file(self, path: str) -> WriteResult:
        with self.locked([path]):
            target = Path(path)
            backup = backup_target(self._backup_root, target)
            backup.parent.mkdir(parents=True, exist_ok=True)
            if self._euid != 0 and not _writable(target):
                self._sudo(("cp", "-p", str(target), str(backup)))
                self._sudo(("rm", "-f", str(target)))
            else:
                shutil.copy2(target, backup)
                target.unlink()
            return WriteResult(str(target), str(backup))

    def locked(self, paths: Sequence[str]) -> AbstractContextManager[None]:
        return self._dir_locks.hold(paths)

    def _sudo(self, argv: tuple[str, ...]) -> None:
        result = self.run(argv, root=True, timeout=60)
        if not result.ok:
            why = (result.stderr or result.stdout).strip().splitlines()
            raise PermissionError(
                errno.EACCES, f"`sudo {' '.join(argv)}` failed: {why[-1] if why else result.returncode}"
            )

    def _write_with_sudo(self, target: Path, given: str, data: bytes, mode: int | None) -> WriteResult:
        """The same promise as atomic_write (backup, mode and owner kept, rename into place, the temp
        file where no daemon reads it) for a file only root may write: `sudo install`, then `sudo mv`."""
        try:
            st: os.stat_result | None = target.stat()
        except FileNotFoundError:
            st = None
        if st is not None and not os.path.isfile(target):
            from gpuwiz.backends.machine.local_files import KINDS, NotRegularFile

            raise NotRegularFile(given, KINDS.get(st.st_mode & 0o170000, "special file"))
        backup = None
        if st is not None:
            saved = backup_target(self._backup_root, Path(given))
            saved.parent.mkdir(parents=True, exist_ok=True)
            self._sudo(("cp", "-p", str(target), str(saved)))
            backup = str(saved)
        else:
            self._sudo(("mkdir", "-p", str(target.parent)))
        folder = staging_dir(target)
        stale = stale_temps(folder, target.parent)
        if stale:
            self._sudo(("rm", "-f", *map(str, stale)))
        fd, tmp = tempfile.mkstemp(prefix="gpuwiz-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            file_mode = mode if mode is not None else (st.st_mode & 0o7777 if st else 0o644)
            owner = (str(st.st_uid), str(st.st_gid)) if st else ("0", "0")
            staged = f"{folder}/{temp_name(target)}{os.urandom(4).hex()}.tmp"
            self._sudo(("install", "-m", f"{file_mode:04o}", "-o", owner[0], "-g", owner[1], tmp, staged))
            self._sudo(("mv", "-f", staged, str(target)))
        finally:
            os.unlink(tmp)
        return WriteResult(given, backup)

    def nvml(self) -> Any:
        import pynvml

        return pynvml

    def process_info(self, pid: int) -> ProcessInfo | None:
        if self._processes is None:
            from gpuwiz.backends.machine.processes import ProcessTable

            self._processes = ProcessTable()
        return self._processes.info(pid)

    def signal_process(self, pid: int, signum: int) -> str | None:
        import signal

        name = signal.Signals(signum).name
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return f"process {pid} is gone already"
        except PermissionError:
            return f"not allowed to send {name} to process {pid}: it belongs to another user; run gpuwiz with sudo"
        return None
