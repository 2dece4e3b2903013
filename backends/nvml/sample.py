"""One reading of the GPUs for the monitor: NVML's records joined with what psutil knows."""

from __future__ import annotations

from dataclasses import dataclass

from gpuwiz.backends.gpu_records import GpuProcessRecord, NvmlRecord
from gpuwiz.backends.machine.host_stats import HostStats
from gpuwiz.backends.machine.processes import ProcessInfo


@dataclass(frozen=True)
class GpuProcess:
    gpu_index: int
    record: GpuProcessRecord
    info: ProcessInfo | None  # None: the PID does not resolve here (another PID namespace, or gone)


@dataclass(frozen=True)
class MonitorSample:
    wall_time: float  # seconds since the epoch, for the header's clock
    nvml: NvmlRecord  # init_error set: nothing else is known
    lost: frozenset[int] = frozenset()  # GPUs that fell off the bus (GpuIsLost); static fields only
    processes: tuple[GpuProcess, ...] = ()
    hostname: str = ""
    host: HostStats | None = None  # the host's CPU, memory, swap and load (wide monitors, --json)

    @property
    def problem(self) -> str | None:
        return self.nvml.init_error
