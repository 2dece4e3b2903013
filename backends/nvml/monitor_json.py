"""`gpuwiz monitor --json`: one sample as a documented JSON document (docs/monitor-json.md).

N/A (NotSupported) is null; units are in the key names.
"""

from __future__ import annotations

import time
from typing import Any

from gpuwiz.backends.gpu_records import GpuRecord, MigDeviceRecord, cuda_version_text
from gpuwiz.backends.machine.host_stats import HostStats
from gpuwiz.backends.nvml.problems import nvml_problem
from gpuwiz.backends.nvml.sample import GpuProcess, MonitorSample

MONITOR_FORMAT = 1


def _mig(m: MigDeviceRecord) -> dict[str, Any]:
    return {
        "gpu_instance_id": m.gpu_instance_id,
        "compute_instance_id": m.compute_instance_id,
        "name": m.name,
        "uuid": m.uuid,
        "memory_used_mib": m.memory_used_mib,
        "memory_total_mib": m.memory_total_mib,
        "sm_count": m.sm_count,
        "bar1_used_mib": m.bar1_used_mib,
        "bar1_total_mib": m.bar1_total_mib,
        "copy_engines": m.ce_count,
        "encoders": m.enc_count,
        "decoders": m.dec_count,
        "ofa": m.ofa_count,
        "jpeg_decoders": m.jpg_count,
    }


def _gpu(index: int, g: GpuRecord, lost: bool) -> dict[str, Any]:
    return {
        "index": index,
        "name": g.name,
        "uuid": g.uuid,
        "pci_bus_id": g.pci_bus_id,
        "lost": lost,
        "persistence_mode": g.persistence_mode,
        "display_active": g.display_active,
        "ecc_mode": g.ecc_mode,
        "ecc_errors_uncorrected_volatile": g.ecc_uncorrected_volatile,
        "fan_percent": g.fan_percent,
        "temperature_c": g.temperature_c,
        "temperature_slowdown_c": g.temperature_slowdown_c,
        "pstate": g.pstate,
        "power_draw_w": g.power_draw_w,
        "power_limit_w": g.power_limit_w,
        "memory_used_mib": g.memory_used_mib,
        "bar1_used_mib": g.bar1_used_mib,
        "bar1_total_mib": g.bar1_total_mib,
        "memory_total_mib": g.memory_total_mib,
        "utilization_gpu_percent": g.utilization_gpu,
        "utilization_memory_percent": g.utilization_memory,
        "compute_mode": g.compute_mode,
        "mig_mode": g.mig_mode,
        "clocks_sm_mhz": g.clocks_sm_mhz,
        "clocks_max_sm_mhz": g.clocks_max_sm_mhz,
        "clocks_mem_mhz": g.clocks_mem_mhz,
        "clocks_max_mem_mhz": g.clocks_max_mem_mhz,
        "encoder_percent": g.encoder_util,
        "decoder_percent": g.decoder_util,
        "pcie_tx_kib_per_s": g.pcie_tx_kbs,
        "pcie_rx_kib_per_s": g.pcie_rx_kbs,
        "throttle_reasons": list(g.throttle_reasons) if g.throttle_reasons is not None else None,
        "mig_devices": [_mig(m) for m in g.mig_devices],
    }


def _process(p: GpuProcess) -> dict[str, Any]:
    info = p.info
    return {
        "gpu_index": p.gpu_index,
        "pid": p.record.pid,
        "type": p.record.type,
        "gpu_memory_mib": p.record.used_memory_mib,
        "gpu_instance_id": p.record.gpu_instance_id,
        "compute_instance_id": p.record.compute_instance_id,
        "sm_utilization_percent": p.record.sm_util,
        "memory_bandwidth_utilization_percent": p.record.mem_util,
        "encoder_utilization_percent": p.record.enc_util,
        "decoder_utilization_percent": p.record.dec_util,
        "resolved": info is not None,
        "user": info.user if info else None,
        "command": list(info.cmdline) if info else None,
        "cpu_percent": info.cpu_percent if info else None,
        "host_memory_mib": round(info.rss_mib, 1) if info else None,
        "running_s": round(info.elapsed_s) if info and info.elapsed_s is not None else None,
    }


def _host(h: HostStats | None) -> dict[str, Any] | None:
    if h is None:
        return None
    return {
        "cpus": h.cpus or None,
        "cpu_percent": h.cpu_percent,
        "memory_used_mib": None if h.memory_used_mib is None else round(h.memory_used_mib, 1),
        "memory_total_mib": None if h.memory_total_mib is None else round(h.memory_total_mib, 1),
        "swap_used_mib": None if h.swap_used_mib is None else round(h.swap_used_mib, 1),
        "swap_total_mib": None if h.swap_total_mib is None else round(h.swap_total_mib, 1),
        "load_average": list(h.load) if h.load else None,
    }


def monitor_document(
    sample: MonitorSample, *, profile: str | None = None, only: frozenset[int] | None = None
) -> dict[str, Any]:
    """`only`: the GPUs asked for (--only, --only-visible); each keeps its NVML index."""
    nvml = sample.nvml
    shown = (lambda i: True) if only is None else (lambda i: i in only)
    error = None
    if sample.problem:
        what, fix = nvml_problem(sample.problem)
        error = {"name": sample.problem, "message": what, "fix": fix}
    return {
        "format": MONITOR_FORMAT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sample.wall_time)),
        "hostname": sample.hostname or None,
        "profile": profile,
        "driver_version": nvml.driver_version,
        "cuda_version": cuda_version_text(nvml.cuda_driver_version),
        "error": error,
        "gpus": [_gpu(i, g, i in sample.lost) for i, g in enumerate(nvml.gpus) if shown(i)],
        "processes": [_process(p) for p in sample.processes if shown(p.gpu_index)],
        "host": _host(sample.host),
    }
