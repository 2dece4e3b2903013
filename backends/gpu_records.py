"""What NVML reports about the GPUs, in profile units (MiB, W, °C, %).

The same records come from a profile's [nvml] table and from reading the real NVML, so a
profile can be captured from a machine and replayed through the same fake binding.
A field that is None is one NVML reports as NotSupported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COMPUTE_MODE_NAMES = {0: "Default", 1: "Exclusive_Thread", 2: "Prohibited", 3: "Exclusive_Process"}

# NVML's clocks-event ("throttle") reason bits, by the names nvidia-smi -q prints them under.
THROTTLE_REASONS: dict[str, int] = {
    "GpuIdle": 0x1,
    "ApplicationsClocksSetting": 0x2,
    "SwPowerCap": 0x4,
    "HwSlowdown": 0x8,
    "SyncBoost": 0x10,
    "SwThermalSlowdown": 0x20,
    "HwThermalSlowdown": 0x40,
    "HwPowerBrakeSlowdown": 0x80,
    "DisplayClockSetting": 0x100,
}


def throttle_names(mask: int) -> tuple[str, ...]:
    return tuple(name for name, bit in THROTTLE_REASONS.items() if mask & bit)


def throttle_mask(names: tuple[str, ...]) -> int:
    mask = 0
    for name in names:
        mask |= THROTTLE_REASONS[name]
    return mask


@dataclass(frozen=True)
class GpuProcessRecord:
    pid: int
    type: str = "C"  # C, G or C+G
    used_memory_mib: int | None = None
    gpu_instance_id: int | None = None  # MIG: which GPU/compute instance it runs on
    compute_instance_id: int | None = None
    # nvmlDeviceGetProcess(es)Utilization(Info): its share of the last sample period, in %; None: N/A
    sm_util: int | None = None
    mem_util: int | None = None  # memory bandwidth (the frame buffer's read/write time)
    enc_util: int | None = None
    dec_util: int | None = None


@dataclass(frozen=True)
class MigDeviceRecord:
    gpu_instance_id: int
    compute_instance_id: int
    memory_total_mib: int
    name: str = ""  # NVML's name of the MIG device, e.g. "NVIDIA A100-SXM4-80GB MIG 3g.40gb"
    uuid: str | None = None
    memory_used_mib: int | None = None
    sm_count: int | None = None  # nvmlDeviceGetAttributes().multiprocessorCount
    bar1_total_mib: int | None = None  # nvmlDeviceGetBAR1MemoryInfo on the MIG device
    bar1_used_mib: int | None = None
    # its GPU instance profile's engines (nvmlDeviceGetGpuInstanceProfileInfo): nvidia-smi's "Shared" columns
    ce_count: int | None = None
    enc_count: int | None = None
    dec_count: int | None = None
    ofa_count: int | None = None
    jpg_count: int | None = None


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
    clocks_max_sm_mhz: int | None = None
    clocks_max_mem_mhz: int | None = None
    temperature_slowdown_c: int | None = None  # nvmlDeviceGetTemperatureThreshold(SLOWDOWN)
    encoder_util: int | None = None
    decoder_util: int | None = None
    pcie_tx_kbs: int | None = None  # nvmlDeviceGetPcieThroughput: KB/s over NVML's 20 ms window
    pcie_rx_kbs: int | None = None
    throttle_reasons: tuple[str, ...] | None = None  # names from THROTTLE_REASONS; () = none active
    bar1_total_mib: int | None = None  # nvmlDeviceGetBAR1MemoryInfo: the PCIe BAR1 aperture
    bar1_used_mib: int | None = None
    mig_devices: tuple[MigDeviceRecord, ...] = ()
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


def driver_major(driver_version: str | None) -> int | None:
    """ "550.54.15" -> 550 (the driver branch, "R550")."""
    m = re.match(r"(\d+)\.", driver_version or "")
    return int(m.group(1)) if m else None


KMD_WORDING_FROM = 610  # R610's nvidia-smi header: "KMD Version", "CUDA UMD Version"


def version_words(driver_version: str | None) -> tuple[str, str]:
    """What nvidia-smi calls the driver and CUDA versions in its header, for this driver."""
    if (driver_major(driver_version) or 0) >= KMD_WORDING_FROM:
        return "KMD", "CUDA UMD"
    return "Driver", "CUDA"
