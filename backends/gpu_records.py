"""What NVML reports about the GPUs, in profile units (MiB, W, °C, %).

The same records come from a profile's [nvml] table and from reading the real NVML, so a
profile can be captured from a machine and replayed through the same fake binding.
A field that is None is one NVML reports as NotSupported.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuProcessRecord:
    pid: int
    type: str = "C"  # C, G or C+G
    used_memory_mib: int | None = None


@dataclass(frozen=True)
class GpuRecord:
    name: str
    pci_bus_id: str
    memory_total_mib: int
    uuid: str | None = None
    serial: str | None = None
    minor_number: int | None = None
    memory_used_mib: int | None = None
    utilization_gpu: int | None = None
    utilization_memory: int | None = None
    temperature_c: int | None = None
    fan_percent: int | None = None
    power_draw_w: float | None = None
    power_limit_w: float | None = None
    pstate: int | None = None
    persistence_mode: bool | None = None
    display_active: bool | None = None
    ecc_mode: bool | None = None
    ecc_uncorrected_volatile: int | None = None
    compute_mode: str | None = None
    mig_mode: bool | None = None
    clocks_sm_mhz: int | None = None
    clocks_mem_mhz: int | None = None
    processes: tuple[GpuProcessRecord, ...] = ()


@dataclass(frozen=True)
class NvmlRecord:
    init_error: str | None = None  # NVML's error name, e.g. "DriverNotLoaded"
    driver_version: str | None = None
    cuda_driver_version: int | None = None  # as nvmlSystemGetCudaDriverVersion returns it: 12020
    gpus: tuple[GpuRecord, ...] = ()


def cuda_version_text(value: int | None) -> str | None:
    """12020 -> "12.2" (nvidia-smi's "CUDA Version")."""
    if not value:
        return None
    return f"{value // 1000}.{(value % 1000) // 10}"
