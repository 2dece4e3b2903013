"""What the host's process table says about a PID (psutil), as plain data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    user: str
    cmdline: tuple[str, ...]
    cpu_percent: float
    rss_mib: float


def read_process(pid: int) -> ProcessInfo | None:
    """The process as psutil sees it; None when it does not resolve (gone, other PID namespace)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            return ProcessInfo(
                pid=pid,
                user=proc.username(),
                cmdline=tuple(proc.cmdline()),
                cpu_percent=proc.cpu_percent(interval=None),
                rss_mib=proc.memory_info().rss / 2**20,
            )
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
