"""read_nvml over the fake binding and over the real libnvidia-ml.so.1 where installed."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

import pytest

from gpuwiz.backends.gpu_records import (
    GpuProcessRecord,
    GpuRecord,
    NvmlRecord,
    cuda_version_text,
)
from gpuwiz.backends.nvml.fake import FakeNvml
from gpuwiz.backends.nvml.sampler import read_nvml


def _record(**gpu) -> NvmlRecord:
    base = dict(
        name="NVIDIA GeForce MX150",
        pci_bus_id="00000000:02:00.0",
        memory_total_mib=2048,
        memory_used_mib=4,
        temperature_c=39,
        pstate=8,
    )
    return NvmlRecord(None, "515.86.01", 11070, (GpuRecord(**{**base, **gpu}),))


def test_round_trip_through_the_fake():
    record = _record(processes=(GpuProcessRecord(936, "G", 4),), persistence_mode=False, compute_mode="Default")
    assert read_nvml(FakeNvml(record)) == record


def test_not_supported_fields_stay_none():
    got = read_nvml(FakeNvml(_record()))
    gpu = got.gpus[0]
    assert gpu.power_draw_w is None and gpu.fan_percent is None and gpu.ecc_mode is None
    assert gpu.temperature_c == 39


def test_init_errors_by_name():
    assert read_nvml(FakeNvml(None)).init_error == "LibraryNotFound"
    for name in ("DriverNotLoaded", "LibRmVersionMismatch", "NoPermission", "GpuIsLost"):
        assert read_nvml(FakeNvml(NvmlRecord(init_error=name))).init_error == name


def test_the_fake_raises_real_pynvml_errors():
    import pynvml

    nvml = FakeNvml(_record())
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        nvml.nvmlDeviceGetCount()
    nvml.nvmlInit()
    h = nvml.nvmlDeviceGetHandleByIndex(0)
    with pytest.raises(pynvml.NVMLError_NotSupported):
        nvml.nvmlDeviceGetPowerUsage(h)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        nvml.nvmlDeviceGetHandleByIndex(1)


def test_cuda_version_text():
    assert cuda_version_text(12020) == "12.2"
    assert cuda_version_text(11070) == "11.7"
    assert cuda_version_text(None) is None


def _real_nvml_present() -> bool:
    return (
        ctypes.util.find_library("nvidia-ml") is not None
        or subprocess.run(["sh", "-c", "ldconfig -p 2>/dev/null | grep -q 'libnvidia-ml.so.1 '"]).returncode == 0
    )


@pytest.mark.integration
@pytest.mark.skipif(
    not _real_nvml_present(), reason="libnvidia-ml.so.1 not installed (.ci/install-system-deps.sh installs it)"
)
def test_real_library_without_a_driver_reports_driver_not_loaded():
    """Debian's libnvidia-ml1 on a machine without the kernel module: a clean finding, no crash."""
    code = "from gpuwiz.backends.machine.host import RealHost; from gpuwiz.backends.nvml.sampler import read_nvml; print(read_nvml(RealHost().nvml()).init_error)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    if done.stdout.strip() is None or done.stdout.strip() == "None":  # pragma: no cover - a real GPU machine
        pytest.skip("this machine has a working NVIDIA driver")
    assert done.stdout.strip() in ("DriverNotLoaded", "NoPermission"), done.stderr
