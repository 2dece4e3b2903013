"""One MonitorSample as Prometheus metric families: dcgm-exporter's names, gpuwiz_* for the rest.

What DCGM has no field for: the clock-event (throttle) reasons, per-process GPU memory, whether NVML
answered at all (gpuwiz_nvml_up, with the error's name) and which GPUs fell off the bus. A value
NVML does not support on a GPU is left out (never 0), as dcgm-exporter does.
"""

from __future__ import annotations

import posixpath

from prometheus_client.core import GaugeMetricFamily, Metric

from gpuwiz.backends.exporter.dcgm_fields import GPU_FIELDS, GPU_LABELS
from gpuwiz.backends.gpu_records import THROTTLE_REASONS, GpuRecord
from gpuwiz.backends.nvml.sample import MonitorSample


def gpu_labels(index: int, gpu: GpuRecord, hostname: str, driver: str) -> list[str]:
    device = f"nvidia{gpu.minor_number if gpu.minor_number is not None else index}"
    return [str(index), gpu.uuid or "", gpu.pci_bus_id, device, gpu.name, hostname, driver]


def metric_families(sample: MonitorSample) -> list[Metric]:
    nvml, host = sample.nvml, sample.hostname
    driver = nvml.driver_version or ""
    up = GaugeMetricFamily("gpuwiz_nvml_up", "1 when NVML answered this scrape, else 0.", labels=["Hostname"])
    up.add_metric([host], 0 if sample.problem else 1)
    error = GaugeMetricFamily(
        "gpuwiz_nvml_error",
        "NVML's error when it did not answer (its name in the label).",
        labels=["Hostname", "error"],
    )
    if sample.problem:
        error.add_metric([host, sample.problem], 1)
    out: list[Metric] = [up, error]
    if sample.problem:
        return out
    families = {f.name: _family(f.name, f.kind, f.help) for f in GPU_FIELDS}
    lost = GaugeMetricFamily(
        "gpuwiz_gpu_lost", "1 when the GPU fell off the bus (NVML: GpuIsLost).", labels=list(GPU_LABELS)
    )
    reasons = GaugeMetricFamily(
        "gpuwiz_clocks_event_reason",
        "1 while this clock-event (throttle) reason is active, else 0 (nvmlDeviceGetCurrentClocksEventReasons).",
        labels=[*GPU_LABELS, "reason"],
    )
    for index, gpu in enumerate(nvml.gpus):
        labels = gpu_labels(index, gpu, host, driver)
        lost.add_metric(labels, 1 if index in sample.lost else 0)
        if index in sample.lost:
            continue
        named = dict(zip(GPU_LABELS, labels, strict=True))
        for field in GPU_FIELDS:
            value = field.read(gpu)
            if value is not None:
                families[field.name].add_sample(field.name, named, float(value))
        if gpu.throttle_reasons is not None:
            for reason in THROTTLE_REASONS:
                reasons.add_metric([*labels, reason], 1 if reason in gpu.throttle_reasons else 0)
    out += [*families.values(), lost, reasons, _processes(sample, driver)]
    return out


def _family(name: str, kind: str, help_text: str) -> Metric:
    """dcgm-exporter's exact name: prometheus_client would append _total to a counter's name
    (DCGM_FI_DEV_ECC_DBE_VOL_TOTAL_total), so a DCGM counter goes out untyped, as Prometheus ingests
    any sample; rate() and increase() work on it alike."""
    return GaugeMetricFamily(name, help_text) if kind == "gauge" else Metric(name, help_text, "unknown")


def _processes(sample: MonitorSample, driver: str) -> Metric:
    family = GaugeMetricFamily(
        "gpuwiz_process_fb_used",
        "GPU memory a process uses on this GPU (in MiB); dcgm-exporter has no per-process field.",
        labels=[*GPU_LABELS, "pid", "type", "process_name", "user"],
    )
    for proc in sample.processes:
        gpu = sample.nvml.gpus[proc.gpu_index]
        memory = proc.record.used_memory_mib
        if memory is None:
            continue
        info = proc.info
        name = posixpath.basename(info.cmdline[0]) if info and info.cmdline else ""
        user = info.user if info else ""
        labels = [*gpu_labels(proc.gpu_index, gpu, sample.hostname, driver), str(proc.record.pid)]
        family.add_metric([*labels, proc.record.type or "", name, user], float(memory))
    return family
