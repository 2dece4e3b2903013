"""The GPU metrics gpuwiz serves under dcgm-exporter's names, units and help texts.

Names, types and help texts are those of dcgm-exporter's etc/default-counters.csv
(https://github.com/NVIDIA/dcgm-exporter/blob/main/etc/default-counters.csv); the extra fields
dcgm-exporter serves when a counters file asks for them (FB_TOTAL, FAN_SPEED, PSTATE,
POWER_MGMT_LIMIT, ECC_DBE_VOL_TOTAL) carry DCGM's field names (DCGM's field identifiers,
https://docs.nvidia.com/datacenter/dcgm/latest/dcgm-api/dcgm-api-field-ids.html). Labels follow
dcgm-exporter's: gpu, UUID, pci_bus_id, device, modelName, Hostname, DCGM_FI_DRIVER_VERSION — so
NVIDIA's Grafana dashboard (grafana.com 12239) reads gpuwiz unchanged, also for GeForce cards that
DCGM does not serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from gpuwiz.backends.gpu_records import GpuRecord


@dataclass(frozen=True)
class GpuField:
    name: str
    kind: str  # gauge | counter, as default-counters.csv says
    help: str
    read: Callable[[GpuRecord], float | int | None]


def _free(g: GpuRecord) -> int | None:
    return None if g.memory_used_mib is None or not g.memory_total_mib else g.memory_total_mib - g.memory_used_mib


GPU_FIELDS: tuple[GpuField, ...] = (
    GpuField("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", lambda g: g.clocks_sm_mhz),
    GpuField("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).", lambda g: g.clocks_mem_mhz),
    GpuField("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", lambda g: g.temperature_c),
    GpuField("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", lambda g: g.power_draw_w),
    GpuField("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", lambda g: g.utilization_gpu),
    GpuField("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).", lambda g: g.utilization_memory),
    GpuField("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %).", lambda g: g.encoder_util),
    GpuField("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %).", lambda g: g.decoder_util),
    GpuField("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", _free),
    GpuField("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", lambda g: g.memory_used_mib),
    GpuField(
        "DCGM_FI_DEV_FB_TOTAL", "gauge", "Framebuffer memory total (in MiB).", lambda g: g.memory_total_mib or None
    ),
    GpuField("DCGM_FI_DEV_FAN_SPEED", "gauge", "Fan speed (in 0-100%).", lambda g: g.fan_percent),
    GpuField("DCGM_FI_DEV_PSTATE", "gauge", "Performance state (P-State) 0-15. 0=highest", lambda g: g.pstate),
    GpuField("DCGM_FI_DEV_POWER_MGMT_LIMIT", "gauge", "Power management limit (in W).", lambda g: g.power_limit_w),
    GpuField(
        "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
        "counter",
        "Total number of double-bit volatile ECC errors.",
        lambda g: g.ecc_uncorrected_volatile,
    ),
)

GPU_LABELS = ("gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname", "DCGM_FI_DRIVER_VERSION")
