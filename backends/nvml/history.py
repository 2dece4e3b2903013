"""The last minutes of each GPU's utilisation, memory, power and temperature, for the graphs."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from gpuwiz.backends.gpu_records import GpuRecord
from gpuwiz.backends.nvml.sample import MonitorSample


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str


METRICS = (
    Metric("util", "GPU utilisation", "%"),
    Metric("memory", "memory used", "%"),
    Metric("power", "power draw", "% of cap"),
    Metric("temperature", "temperature", "°C"),
)


def metric_value(gpu: GpuRecord, key: str) -> float | None:
    """The metric as a number where 0 and 100 are the graph's floor and ceiling."""
    if key == "util":
        return gpu.utilization_gpu
    if key == "memory":
        if gpu.memory_used_mib is None or not gpu.memory_total_mib:
            return None
        return 100 * gpu.memory_used_mib / gpu.memory_total_mib
    if key == "power":
        if gpu.power_draw_w is None or not gpu.power_limit_w:
            return None
        return min(100.0, 100 * gpu.power_draw_w / gpu.power_limit_w)
    if key == "temperature":
        return gpu.temperature_c
    raise KeyError(key)


class History:
    """Fixed-size ring buffers per GPU and metric; None where the GPU said N/A or was lost."""

    def __init__(self, length: int = 300):
        self.length = length
        self._series: dict[tuple[int, str], deque[float | None]] = {}

    def add(self, sample: MonitorSample) -> None:
        for i, gpu in enumerate(sample.nvml.gpus):
            lost = i in sample.lost
            for metric in METRICS:
                series = self._series.get((i, metric.key))
                if series is None:
                    series = self._series[(i, metric.key)] = deque(maxlen=self.length)
                series.append(None if lost else metric_value(gpu, metric.key))

    def series(self, gpu: int, key: str) -> list[float | None]:
        return list(self._series.get((gpu, key), ()))
