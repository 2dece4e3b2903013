"""The host beside its GPUs (the monitor's host line): CPU busy %, memory, swap and load, from /proc.

CPU % is the busy share of all CPUs between two looks at /proc/stat's `cpu` line, as top and
psutil.cpu_percent() count it (iowait is idle); memory used is MemTotal - MemAvailable, as free(1)
and psutil's virtual_memory().used count it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class HostStats:
    cpus: int
    cpu_percent: float | None  # None at the first look (no interval yet)
    memory_used_mib: float | None
    memory_total_mib: float | None
    swap_used_mib: float | None
    swap_total_mib: float | None
    load: tuple[float, float, float] | None


def parse_meminfo(text: str) -> dict[str, int]:
    """`/proc/meminfo` in kB per key."""
    out = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            out[key] = int(fields[0])
    return out


def parse_loadavg(text: str) -> tuple[float, float, float] | None:
    fields = text.split()
    try:
        return float(fields[0]), float(fields[1]), float(fields[2])
    except (IndexError, ValueError):
        return None


def parse_cpu_times(text: str) -> tuple[tuple[int, int], int] | None:
    """((busy, total) jiffies of the `cpu` line, number of `cpuN` lines); guest time is in user already."""
    total_line, cpus = None, 0
    for line in text.splitlines():
        if line.startswith("cpu "):
            total_line = line
        elif line.startswith("cpu") and line[3:4].isdigit():
            cpus += 1
    if total_line is None:
        return None
    try:
        values = [int(v) for v in total_line.split()[1:9]]
    except ValueError:
        return None
    values += [0] * (8 - len(values))
    user, nice, system, idle, iowait, irq, softirq, steal = values
    idle_all = idle + iowait
    total = user + nice + system + idle_all + irq + softirq + steal
    return (total - idle_all, total), cpus


class HostStatsReader:
    """Reads HostStats through a `read_text(path)` (a Host's), keeping the last CPU times."""

    def __init__(self, read_text: Callable[[str], str | None]) -> None:
        self._read = read_text
        self._last: tuple[int, int] | None = None

    def read(self) -> HostStats | None:
        times = parse_cpu_times(self._read("/proc/stat") or "")
        meminfo = parse_meminfo(self._read("/proc/meminfo") or "")
        load = parse_loadavg(self._read("/proc/loadavg") or "")
        if times is None and not meminfo and load is None:
            return None  # a machine (or profile) with no /proc to tell
        percent = None
        if times is not None:
            (busy, total), _ = times
            if self._last is not None and total > self._last[1]:
                percent = round(100 * (busy - self._last[0]) / (total - self._last[1]), 1)
            self._last = (busy, total)

        def mib(key: str) -> float | None:
            return meminfo[key] / 1024 if key in meminfo else None

        total_mib, available = mib("MemTotal"), mib("MemAvailable")
        swap_total, swap_free = mib("SwapTotal"), mib("SwapFree")
        return HostStats(
            cpus=times[1] if times else 0,
            cpu_percent=percent,
            memory_used_mib=None if total_mib is None or available is None else total_mib - available,
            memory_total_mib=total_mib,
            swap_used_mib=None if swap_total is None or swap_free is None else swap_total - swap_free,
            swap_total_mib=swap_total,
            load=load,
        )
