"""The monitor says what nvidia-smi says for the same machine: profiles built from real tables."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gpuwiz.backends.gpu_records import GpuProcessRecord, GpuRecord, NvmlRecord, version_words
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile
from gpuwiz.backends.nvml.fake import FakeNvml, exported_process_versions
from gpuwiz.backends.nvml.monitor_json import monitor_document
from gpuwiz.backends.nvml.sample import MonitorSample
from gpuwiz.backends.nvml.sampler import NvmlSampler
from gpuwiz.monitor_view import ViewOptions, header, power_text


def gt1030_sample() -> tuple[FakeNvml, MonitorSample]:
    host = ProfileHost(load_profile("gt1030-r418", {}))
    nvml = host.nvml()
    return nvml, NvmlSampler(nvml, process_info=host.process_info).sample()


def test_power_na_keeps_the_cap_like_nvidia_smi():
    _, sample = gt1030_sample()
    gpu = sample.nvml.gpus[0]
    assert (gpu.power_draw_w, gpu.power_limit_w) == (None, 30.0)
    assert power_text(gpu) == "N/A/30W"
    document = monitor_document(sample)["gpus"][0]
    assert (document["power_draw_w"], document["power_limit_w"]) == (None, 30.0)


@pytest.mark.parametrize(
    "draw, cap, text",
    [(15.2, 170.0, "15/170W"), (None, 30.0, "N/A/30W"), (15.2, None, "15W/N/A"), (None, None, "N/A")],
)
def test_power_text_either_side_can_be_na(draw, cap, text):
    gpu = GpuRecord(name="g", pci_bus_id="", memory_total_mib=1, power_draw_w=draw, power_limit_w=cap)
    assert power_text(gpu) == text


def test_an_r418_driver_lists_processes_through_v1():
    nvml, sample = gt1030_sample()
    assert [p.record.pid for p in sample.processes] == [8574]
    assert nvml.calls[0] == "Compute_v1" and not any(c.endswith(("_v2", "_v3")) for c in nvml.calls)
    assert not hasattr(nvml, "nvmlDeviceGetComputeRunningProcesses_v2")


@pytest.mark.parametrize(
    "driver, versions",
    [
        ("410.48", ("_v1",)),
        ("440.82", ("_v1",)),
        ("450.51.05", ("_v2", "_v1")),
        ("470.82.01", ("_v2", "_v1")),
        ("510.47.03", ("_v3", "_v2", "_v1")),
        ("550.54.15", ("_v3", "_v2", "_v1")),
        (None, ("_v3", "_v2", "_v1")),
    ],
)
def test_the_fake_exports_the_recorded_drivers_process_calls(driver, versions):
    assert exported_process_versions(driver) == versions
    nvml = FakeNvml(NvmlRecord(driver_version=driver))
    exported = tuple(v for v in ("_v3", "_v2", "_v1") if hasattr(nvml, f"nvmlDeviceGetComputeRunningProcesses{v}"))
    assert exported == versions


def test_an_r440_driver_falls_back_from_v3_to_v1():
    gpu = GpuRecord(name="g", pci_bus_id="", memory_total_mib=1, memory_used_mib=0)
    record = NvmlRecord(None, "440.82", 10020, (replace(gpu, processes=(GpuProcessRecord(7, "C", 5),)),))
    nvml = FakeNvml(record)
    sample = NvmlSampler(nvml).sample()
    assert [p.record.pid for p in sample.processes] == [7]
    assert "Compute_v1" in nvml.calls


def test_an_explicit_process_api_still_wins():
    nvml = FakeNvml(NvmlRecord(driver_version="550.54.15"), process_api="v2")
    assert not hasattr(nvml, "nvmlDeviceGetComputeRunningProcesses_v3")


def test_a_left_out_memory_utilisation_is_na_not_zero():
    _, sample = gt1030_sample()
    gpu = sample.nvml.gpus[0]
    assert gpu.utilization_gpu == 0 and gpu.utilization_memory is None


def test_utilisation_with_neither_field_is_not_supported():
    gpu = GpuRecord(name="g", pci_bus_id="", memory_total_mib=1, memory_used_mib=0)
    got = NvmlSampler(FakeNvml(NvmlRecord(None, "550.54.15", 12040, (gpu,)))).sample().nvml.gpus[0]
    assert (got.utilization_gpu, got.utilization_memory) == (None, None)


def test_memory_is_one_call_answered_together_or_not_at_all():
    gpu = GpuRecord(name="g", pci_bus_id="", memory_total_mib=2048)  # no used: the call is NotSupported
    got = NvmlSampler(FakeNvml(NvmlRecord(None, "550.54.15", 12040, (gpu,)))).sample().nvml.gpus[0]
    assert got.memory_used_mib is None


def _header(record: NvmlRecord, width: int = 120) -> str:
    return header(MonitorSample(0.0, record, hostname="h"), ViewOptions(width=width, live=False)).plain


def test_cuda_version_na_is_said():
    # no libcuda (a container without it): nvidia-smi prints "CUDA Version: N/A"
    gpu = GpuRecord(name="g", pci_bus_id="", memory_total_mib=1)
    record = NvmlRecord(None, "535.154.05", None, (gpu,))
    assert "Driver 535.154.05  CUDA N/A  1 GPU" in _header(record)
    sample = NvmlSampler(FakeNvml(record)).sample()
    assert monitor_document(sample)["cuda_version"] is None
    assert "CUDA N/A" in _header(sample.nvml)


def test_r610_headers_use_the_drivers_own_words():
    # NVIDIA-SMI 610.43.02   KMD Version: 610.43.02   CUDA UMD Version: 13.3
    gpu = GpuRecord(name="g", pci_bus_id="", memory_total_mib=1)
    assert "KMD 610.43.02  CUDA UMD 13.3  1 GPU" in _header(NvmlRecord(None, "610.43.02", 13030, (gpu,)))
    assert "Driver 580.105.08  CUDA 13.0" in _header(NvmlRecord(None, "580.105.08", 13000, (gpu,)))
    assert version_words("610.43.02") == ("KMD", "CUDA UMD")
    assert version_words("595.45.04") == ("Driver", "CUDA")
    assert version_words(None) == ("Driver", "CUDA")


def test_each_dgx_process_has_its_own_running_time():
    host = ProfileHost(load_profile("dgx-h100x8", {}))
    sample = NvmlSampler(host.nvml(), process_info=host.process_info).sample()
    times = [p.info.elapsed_s for p in sample.processes if p.info is not None]
    assert len(times) >= 24 and len(set(times)) >= len(times) // 2
