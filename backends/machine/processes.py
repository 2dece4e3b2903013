"""What the host's process table says about a PID (psutil), as plain data."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    user: str
    cmdline: tuple[str, ...]
    cpu_percent: float
    rss_mib: float
    elapsed_s: float | None = None  # how long it has been running


MAX_KEPT = 1024


class ProcessTable:
    """psutil lookups that keep each PID's `Process` between calls.

    `cpu_percent` is the CPU used since the previous call on the same `Process` object, so a
    fresh object per sample would always say 0.0; a PID reused by a new process (another start
    time) gets a new object.
    """

    def __init__(self) -> None:
        self._procs: dict[int, Any] = {}

    def info(self, pid: int) -> ProcessInfo | None:
        """The process as psutil sees it; None when it does not resolve (gone, other PID namespace)."""
        import psutil

        try:
            proc = self._procs.get(pid)
            if proc is None or not proc.is_running():
                if len(self._procs) >= MAX_KEPT:  # a long watch over many short jobs
                    self._procs = {p: kept for p, kept in self._procs.items() if kept.is_running()}
                proc = self._procs[pid] = psutil.Process(pid)
            with proc.oneshot():
                cmdline = tuple(proc.cmdline()) or (f"[{proc.name()}]",)
                return ProcessInfo(
                    pid=pid,
                    user=_user(proc),
                    cmdline=cmdline,
                    cpu_percent=proc.cpu_percent(interval=None),
                    rss_mib=proc.memory_info().rss / 2**20,
                    elapsed_s=max(0.0, time.time() - proc.create_time()),
                )
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            self._procs.pop(pid, None)
            return None
        except psutil.AccessDenied:
            return None


def _user(proc: Any) -> str:
    try:
        return proc.username()
    except KeyError:  # a UID with no passwd entry (containers): psutil cannot name it
        return str(proc.uids().real)


INIT_PID_NAMESPACE = "pid:[4026531836]"  # the kernel's initial PID namespace (PROC_PID_INIT_INO)


def in_initial_pid_namespace(ns_link: str | None) -> bool:
    """`readlink /proc/self/ns/pid`: NVML reports the host's PIDs, which mean other processes
    (or none) inside a container's PID namespace — signalling one there could hit the wrong one.
    Unknown (no /proc link): assume the host."""
    return ns_link is None or ns_link == INIT_PID_NAMESPACE
