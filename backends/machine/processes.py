"""What the host's process table says about a PID (/proc, read the way psutil reads it), as plain data."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    user: str
    cmdline: tuple[str, ...]
    cpu_percent: float
    rss_mib: float
    elapsed_s: float | None = None  # how long it has been running
    ppid: int | None = None  # its parent (the detail view walks the chain)


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/PID/stat a frame needs: one read answers all of them."""

    comm: bytes  # decoded only where a cmdline is empty (kernel threads)
    zombie: bool
    ppid: int
    cpu_ticks: int  # utime + stime, in clock ticks
    start_ticks: int  # since boot: with the PID, the process's identity (a reused PID starts later)
    rss_pages: int


def parse_stat(raw: bytes) -> ProcStat | None:
    """proc(5): `pid (comm) state ppid … utime stime … starttime vsize rss …`; comm may hold ')' and spaces."""
    try:
        end = raw.rindex(b")")
        fields = raw[end + 2 :].split()
        return ProcStat(
            raw[raw.index(b"(") + 1 : end],
            fields[0] == b"Z",
            int(fields[1]),
            int(fields[11]) + int(fields[12]),
            int(fields[19]),
            int(fields[21]),
        )
    except (ValueError, IndexError):
        return None


def parse_cmdline(raw: bytes) -> tuple[str, ...]:
    """psutil's reading of /proc/PID/cmdline: NUL-separated, except after a setproctitle() that
    wrote spaces (Chrome, psutil issue #1179)."""
    data = os.fsdecode(raw)
    if not data:
        return ()
    sep = "\x00" if data.endswith("\x00") else " "
    if data.endswith(sep):
        data = data[:-1]
    args = data.split(sep)
    if sep == "\x00" and len(args) == 1 and " " in data:
        args = data.split(" ")
    return tuple(args)


def parse_real_uid(status: bytes) -> int | None:
    for line in status.splitlines():
        if line.startswith(b"Uid:"):
            return int(line.split()[1])
    return None


def parse_boot_time(stat: bytes) -> float:
    """/proc/stat's `btime`: the epoch second the machine booted (start times count from it)."""
    for line in stat.splitlines():
        if line.startswith(b"btime"):
            return float(line.split()[1])
    return 0.0


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


@dataclass
class _Known:
    """One process as first looked up, and its CPU ticks at the previous look."""

    start_ticks: int
    user: str
    cmdline: tuple[str, ...]
    named_at: float  # when user and cmdline were read
    cpu_ticks: int
    looked_at: float


MAX_KEPT = 1024
RENAME_S = 10.0  # how stale a cmdline may get: a process can retitle itself (setproctitle) or change user


class ProcessTable:
    """The processes behind NVML's PIDs, cheaply enough to ask about every one every frame.

    A PID's user and cmdline are read once (again every RENAME_S); every look reads only
    /proc/PID/stat: CPU ticks, RSS, and the start time that tells a reused PID (another start
    time) from the process already known. `cpu_percent` is psutil's `cpu_percent(interval=None)`:
    % of one CPU since the previous look, 0.0 at the first.
    """

    def __init__(
        self,
        *,
        read: Callable[[str], bytes] = read_bytes,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._known: dict[int, _Known] = {}
        self._users: dict[int, str] = {}
        self._read = read
        self._clock = clock
        self._wall_clock = wall_clock
        self._boot_time: float | None = None
        self._ticks_per_s = os.sysconf("SC_CLK_TCK")
        self._page_size = os.sysconf("SC_PAGE_SIZE")

    def info(self, pid: int) -> ProcessInfo | None:
        """The process as the host sees it; None when it does not resolve (gone, other PID namespace)."""
        stat = self._stat(pid)
        if stat is None:
            return None
        now = self._clock()
        known = self._known.get(pid)
        if known is None or known.start_ticks != stat.start_ticks or now - known.named_at >= RENAME_S:
            known = self._look_up(pid, stat, now, known)
            if known is None:
                return None
        cpu_percent = _cpu_percent(stat.cpu_ticks - known.cpu_ticks, now - known.looked_at, self._ticks_per_s)
        known.cpu_ticks, known.looked_at = stat.cpu_ticks, now
        return ProcessInfo(
            pid=pid,
            user=known.user,
            cmdline=known.cmdline,
            cpu_percent=cpu_percent,
            rss_mib=stat.rss_pages * self._page_size / 2**20,
            elapsed_s=max(0.0, self._wall_clock() - self._started(stat)),
            ppid=stat.ppid,
        )

    def _stat(self, pid: int) -> ProcStat | None:
        """None for a PID that is gone, a zombie, or not readable (/proc mounted with hidepid)."""
        try:
            stat = parse_stat(self._read(f"/proc/{pid}/stat"))
        except (FileNotFoundError, ProcessLookupError):
            stat = None
        except OSError:
            return None
        if stat is None or stat.zombie:
            self._known.pop(pid, None)
            return None
        return stat

    def _started(self, stat: ProcStat) -> float:
        if self._boot_time is None:
            self._boot_time = parse_boot_time(self._read("/proc/stat"))
        return self._boot_time + stat.start_ticks / self._ticks_per_s

    def _look_up(self, pid: int, stat: ProcStat, now: float, known: _Known | None) -> _Known | None:
        try:
            cmdline = parse_cmdline(self._read(f"/proc/{pid}/cmdline")) or (f"[{os.fsdecode(stat.comm)}]",)
            uid = parse_real_uid(self._read(f"/proc/{pid}/status"))
        except (FileNotFoundError, ProcessLookupError):
            self._known.pop(pid, None)
            return None
        except OSError:
            return None
        user = self._user(uid) if uid is not None else "?"
        if known is not None and known.start_ticks == stat.start_ticks:  # the same process, renamed or not
            known.user, known.cmdline, known.named_at = user, cmdline, now
            return known
        if len(self._known) >= MAX_KEPT:  # a long watch over many short jobs
            self._known = {p: k for p, k in self._known.items() if self._still(p, k)}
        known = self._known[pid] = _Known(stat.start_ticks, user, cmdline, now, stat.cpu_ticks, now)
        return known

    def _user(self, uid: int) -> str:
        """psutil's `username()`: the passwd name, or the UID where there is none (containers).
        Asked once per UID: with LDAP or sssd behind it a lookup can take milliseconds."""
        if uid not in self._users:
            import pwd

            try:
                self._users[uid] = pwd.getpwuid(uid).pw_name
            except KeyError:
                self._users[uid] = str(uid)
        return self._users[uid]

    def _still(self, pid: int, known: _Known) -> bool:
        """Whether the PID still names the process known (running, not a zombie)."""
        try:
            stat = parse_stat(self._read(f"/proc/{pid}/stat"))
        except OSError:
            return False
        return stat is not None and not stat.zombie and stat.start_ticks == known.start_ticks


def _cpu_percent(ticks: int, seconds: float, ticks_per_s: int) -> float:
    if seconds <= 0:
        return 0.0
    return round(100 * ticks / ticks_per_s / seconds, 1)


INIT_PID_NAMESPACE = "pid:[4026531836]"  # the kernel's initial PID namespace (PROC_PID_INIT_INO)


def in_initial_pid_namespace(ns_link: str | None) -> bool:
    """`readlink /proc/self/ns/pid`: NVML reports the host's PIDs, which mean other processes
    (or none) inside a container's PID namespace — signalling one there could hit the wrong one.
    Unknown (no /proc link): assume the host."""
    return ns_link is None or ns_link == INIT_PID_NAMESPACE
