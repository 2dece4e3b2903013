"""ProfileHost: a Host that answers from a machine profile and records what was asked of it."""

from __future__ import annotations

import posixpath
import shlex
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from gpuwiz.backends.machine.host import DEFAULT_TIMEOUT, RC_NOT_FOUND, CommandResult, WriteResult
from gpuwiz.backends.machine.processes import ProcessInfo
from gpuwiz.backends.machine.profiles import CommandAnswer, MachineProfile, decode_file_bytes
from gpuwiz.backends.nvml.fake import FakeNvml
from gpuwiz.backends.nvml.motion import moved_cpu


@dataclass(frozen=True)
class RecordedCommand:
    argv: tuple[str, ...]
    root: bool
    input: str | None


@dataclass(frozen=True)
class RecordedWrite:
    path: str
    text: str
    mode: int | None


class ProfileHost:
    """A simulated machine. Writes change only this object's copy of the profile's files."""

    simulated = True

    def __init__(
        self,
        profile: MachineProfile,
        *,
        motion: tuple[int, Callable[[], float]] | None = None,
        simulate_steps: bool = False,
    ):
        """`motion=(seed, clock)`: NVML values and processes move over time (the monitor's demo).
        `simulate_steps`: plan steps run here succeed, and once a layer's steps have run the machine
        becomes what the profile's `[after.LAYER]` says (the wizard and `apply` on a profile)."""
        self.profile = profile
        self.simulate_steps = simulate_steps
        self._commands: dict[str, CommandAnswer] = dict(profile.commands)
        self._executables: list[str] = list(profile.executables)
        self._nvml = profile.nvml
        self._processes = dict(profile.processes)
        self._in_step = False
        self.applied: list[str] = []  # the [after.LAYER] overlays applied so far
        self.motion = motion
        self._t0 = motion[1]() if motion else 0.0
        self.killed: set[int] = set()  # PIDs signalled away: NVML stops listing them
        self.signals: list[tuple[int, int]] = []
        self._files: dict[str, str] = dict(profile.files)
        self._links: dict[str, str] = dict(profile.links)
        self._dirs: set[str] | None = None  # implied directories, recomputed after a write
        self.commands: list[RecordedCommand] = []
        self.writes: list[RecordedWrite] = []
        self._sudo_password: str | None = None  # in memory only, as on a real machine

    @property
    def env(self) -> Mapping[str, str]:
        return self.profile.env

    @property
    def user(self) -> str:
        return self.profile.user

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        root: bool = False,
        input: str | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> CommandResult:
        argv = tuple(argv)
        self.commands.append(RecordedCommand(argv, root, input))
        refused = self._sudo_refuses() if root else ""
        if refused:
            return CommandResult(argv, 1, "", refused)
        answer = self._commands.get(shlex.join(argv))
        if answer is not None and self._stale(argv):
            answer = None  # recorded for the files as they were; a simulated step has changed them since
        if answer is None and self._in_step:
            answer = CommandAnswer(f"(simulated) {shlex.join(argv)}\n")  # a plan step on a simulated machine
        if answer is None:
            if self.which(argv[0]) is None:
                result = CommandResult(argv, RC_NOT_FOUND, "", f"{argv[0]}: command not found")
            else:
                result = CommandResult(
                    argv, RC_NOT_FOUND, "", f"{shlex.join(argv)}: not recorded in profile {self.profile.name}"
                )
        else:
            result = CommandResult(argv, answer.returncode, answer.stdout, answer.stderr)
        if on_output is not None:
            lines = (result.stdout + result.stderr).splitlines()
            if not lines and self._in_step:  # a step is never a silent "done" on a simulated machine
                lines = [f"(simulated) {shlex.join(argv)}: exit {result.returncode}, the profile records no output"]
            for line in lines:
                on_output(line)
        return result

    # --- root, as the profile's user gets it (machine.user, machine.sudo) ---------------------

    def _stale(self, argv: tuple[str, ...]) -> bool:
        """Does a recorded answer read a config a simulated step wrote (the file, or a drop-in beside it:
        `containerd --config F config dump` merges F's folder's imports)?"""
        written = {w.path for w in self.writes}
        if not written:
            return False
        for arg in argv:
            if arg.startswith("/") and arg.endswith((".toml", ".json")):
                folder = posixpath.dirname(arg) + "/"
                if arg in written or any(w.startswith(folder) for w in written):
                    return True
        return False

    def sudo_mode(self) -> str:
        """ "root", "passwordless", "password" (asked once) or "none", as RealHost says it."""
        if self.user == "root":
            return "root"
        return self.profile.sudo

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self._sudo_password,) if self._sudo_password else ()

    def set_sudo_password(self, password: str) -> bool:
        """The simulated sudo takes any password that is not empty (a profile records none); it is
        kept for this process's root commands only, and logs redact it, as on a real machine."""
        if self.sudo_mode() != "password" or not password:
            return False
        self._sudo_password = password
        return True

    def _sudo_refuses(self) -> str:
        """What sudo says when a root command cannot run for this user ("" when it can)."""
        mode = self.sudo_mode()
        if mode == "none":
            return f"{self.user} cannot run root commands: there is no sudo (simulated machine {self.profile.name})"
        if mode == "password" and self._sudo_password is None:
            return "sudo: a password is required"
        return ""

    def run_attached(self, argv: Sequence[str], *, root: bool = False) -> int:
        return self.run(argv, root=root).returncode

    def terminate_running(self) -> None:
        """Nothing runs for real on a simulated machine."""

    def which(self, name: str) -> str | None:
        for exe in self._executables:
            if exe == name or ("/" in exe and posixpath.basename(exe) == name and "/" not in name):
                return exe if "/" in exe else f"/usr/bin/{exe}"
        return None

    def read_text(self, path: str) -> str | None:
        return self._files.get(posixpath.normpath(path))

    def read_bytes(self, path: str, limit: int | None = None) -> bytes | None:
        return decode_file_bytes(self.read_text(path))

    def file_kind(self, path: str) -> str | None:
        path = posixpath.normpath(path)
        if path in self._files:
            return "file"
        return "directory" if self.is_dir(path) else None

    def _implied_dirs(self) -> set[str]:
        if self._dirs is not None:
            return self._dirs
        dirs = {"/"}
        for p in (*self._files, *self._links):
            parent = posixpath.dirname(p)
            while parent not in dirs:
                dirs.add(parent)
                parent = posixpath.dirname(parent)
        self._dirs = dirs
        return dirs

    def exists(self, path: str) -> bool:
        path = posixpath.normpath(path)
        return path in self._files or path in self._links or self.is_dir(path)

    def is_dir(self, path: str) -> bool:
        return posixpath.normpath(path) in self._implied_dirs()

    def list_dir(self, path: str) -> list[str]:
        path = posixpath.normpath(path)
        prefix = path.rstrip("/") + "/"
        names = set()
        for p in (*self._files, *self._links):
            if p.startswith(prefix):
                names.add(p[len(prefix) :].split("/", 1)[0])
        return sorted(names)

    def readlink(self, path: str) -> str | None:
        return self._links.get(posixpath.normpath(path))

    def write_text(self, path: str, text: str, *, mode: int | None = None) -> WriteResult:
        path = posixpath.normpath(path)
        self.writes.append(RecordedWrite(path, text, mode))
        backup = f"(profile) {path}" if path in self._files else None
        self._files[path] = text
        self._dirs = None
        return WriteResult(path, backup)

    # --- simulated runs (the executor calls these around each step's action) --------------------

    def begin_step(self, step: Any) -> None:
        self._in_step = self.simulate_steps

    def end_step(self, step: Any, *, last_of_layer: bool, ok: bool = True) -> None:
        """After a layer's last step (or a reboot step) the machine is what `[after.LAYER]` says."""
        self._in_step = False
        layer = step.layer.value
        if step.removal:  # [after.LAYER] records the layer set up; what a removal leaves is not recorded
            return
        if self.simulate_steps and ok and (last_of_layer or step.reboot) and layer not in self.applied:
            self.apply_overlay(layer)

    def records_after(self, layer: str) -> bool:
        """Whether the profile says what the machine is once `layer`'s steps ran ([after.LAYER])."""
        return layer in self.profile.after

    def unrecorded_after(self, steps: Any) -> str:
        """The `[after.LAYER]` sections these steps' layers lack, as "[after.a], [after.b]"; "" if none."""
        layers = sorted({s.layer.value for s in steps if s.removal or not self.records_after(s.layer.value)})
        return ", ".join(f"[after.{layer}]" for layer in layers)

    def apply_overlay(self, layer: str) -> None:
        overlay = self.profile.after.get(layer)
        if overlay is None:
            return
        self.applied.append(layer)
        self._executables += [e for e in overlay.executables if e not in self._executables]
        for path in overlay.remove_files:
            self._files.pop(path, None)
        self._files.update(overlay.files)
        self._links.update(overlay.links)
        self._commands.update(overlay.commands)
        if overlay.nvml is not None:
            self._nvml = overlay.nvml
        self._processes.update(overlay.processes)
        self._dirs = None

    def remove_file(self, path: str) -> WriteResult:
        path = posixpath.normpath(path)
        if path not in self._files:
            raise FileNotFoundError(path)
        del self._files[path]
        self._dirs = None
        return WriteResult(path, f"(profile) {path}")

    def restore_file(self, path: str, backup: str) -> WriteResult:
        text = self.read_text(backup)
        if text is None:
            raise FileNotFoundError(backup)
        return self.write_text(path, text)

    def locked(self, paths: Sequence[str]) -> AbstractContextManager[None]:
        return nullcontext()  # one simulated machine per gpuwiz process

    def nvml(self) -> Any:
        return FakeNvml(self._nvml, motion=self.motion, hidden_pids=self.killed)

    def process_info(self, pid: int) -> ProcessInfo | None:
        proc = self._processes.get(pid)
        if proc is None or pid in self.killed:
            return None
        cpu, elapsed = proc.cpu_percent, proc.elapsed_s
        if self.motion:
            seed, clock = self.motion
            t = clock()
            cpu, elapsed = moved_cpu(cpu, pid, t, seed), elapsed + t - self._t0
        return ProcessInfo(pid, proc.user, proc.cmdline, cpu, proc.rss_mib, elapsed, proc.ppid)

    def signal_process(self, pid: int, signum: int) -> str | None:
        import signal

        name = signal.Signals(signum).name
        proc = self._processes.get(pid)
        gpu_pids = {p.pid for g in (self._nvml.gpus if self._nvml else ()) for p in g.processes}
        if pid in self.killed or (proc is None and pid not in gpu_pids):
            return f"process {pid} is gone already"
        if self.user != "root" and proc is not None and proc.user != self.user:
            return f"not allowed to send {name} to process {pid}: it belongs to another user; run gpuwiz with sudo"
        self.signals.append((pid, signum))
        self.killed.add(pid)
        return None
