"""NvmlSampler against the fake pynvml: N/A fields, many GPUs, MIG, failures, old process APIs."""

from __future__ import annotations

from dataclasses import replace

import pynvml
import pytest

from gpuwiz.backends.gpu_records import GpuProcessRecord, GpuRecord, MigDeviceRecord, NvmlRecord
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile
from gpuwiz.backends.nvml.fake import FakeNvml
from gpuwiz.backends.nvml.motion import moved
from gpuwiz.backends.nvml.processes import broken_v3
from gpuwiz.backends.nvml.sampler import NvmlSampler


class Clock:
    def __init__(self, t: float = 0.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def geforce() -> NvmlRecord:
    gpu = GpuRecord(
        name="NVIDIA GeForce MX150",
        pci_bus_id="00000000:02:00.0",
        memory_total_mib=2048,
        memory_used_mib=4,
        utilization_gpu=0,
        utilization_memory=0,
        temperature_c=39,
        pstate=8,
        processes=(GpuProcessRecord(936, "G", 4),),
    )
    return NvmlRecord(None, "515.86.01", 11070, (gpu,))


def a100_mig() -> NvmlRecord:
    gpu = GpuRecord(
        name="NVIDIA A100-SXM4-80GB",
        pci_bus_id="00000000:07:00.0",
        memory_total_mib=81920,
        memory_used_mib=30000,
        temperature_c=40,
        power_draw_w=90.0,
        power_limit_w=400.0,
        mig_mode=True,
        mig_devices=(
            MigDeviceRecord(1, 0, 40192, "NVIDIA A100-SXM4-80GB MIG 3g.40gb", "MIG-aaaa", 20000, 42),
            MigDeviceRecord(5, 0, 19968, "NVIDIA A100-SXM4-80GB MIG 2g.20gb", "MIG-bbbb", 9000, 28),
        ),
        processes=(GpuProcessRecord(100, "C", 19000, 1, 0), GpuProcessRecord(200, "C", 8500, 5, 0)),
    )
    return NvmlRecord(None, "550.54.15", 12040, (gpu,))


def counting(nvml: FakeNvml, name: str) -> list[int]:
    calls: list[int] = []
    real = getattr(nvml, name)

    def wrapped(*args):
        calls.append(1)
        return real(*args)

    setattr(nvml, name, wrapped)
    return calls


def test_geforce_not_supported_fields_are_none_and_asked_once():
    nvml = FakeNvml(geforce())
    fan = counting(nvml, "nvmlDeviceGetFanSpeed")
    temp = counting(nvml, "nvmlDeviceGetTemperature")
    sampler = NvmlSampler(nvml)
    for _ in range(3):
        gpu = sampler.sample().nvml.gpus[0]
    assert gpu.fan_percent is None and gpu.power_draw_w is None and gpu.ecc_mode is None
    assert gpu.temperature_c == 39 and gpu.pstate == 8
    assert len(fan) == 1  # NotSupported once: never asked again
    assert len(temp) == 3  # a supported field is read every time


def test_one_init_for_the_samplers_life():
    nvml = FakeNvml(geforce())
    inits = counting(nvml, "nvmlInit")
    names = counting(nvml, "nvmlDeviceGetName")  # a static field: read once per session
    sampler = NvmlSampler(nvml)
    for _ in range(5):
        sampler.sample()
    sampler.close()
    assert len(inits) == 1 and len(names) == 1
    assert nvml._initialised == 0


def test_dgx_eight_gpus_and_processes_joined_with_psutil():
    host = ProfileHost(load_profile("dgx-h100x8", {}))
    sample = NvmlSampler(host.nvml(), process_info=host.process_info).sample()
    assert len(sample.nvml.gpus) == 8 and sample.problem is None
    assert {p.gpu_index for p in sample.processes} == set(range(8))
    resolved = [p for p in sample.processes if p.info is not None]
    unresolved = [p for p in sample.processes if p.info is None]
    assert resolved and unresolved  # the profile has processes of another PID namespace
    assert all(p.info.user and p.info.cmdline for p in resolved)


def test_mig_devices_and_their_processes():
    sample = NvmlSampler(FakeNvml(a100_mig())).sample()
    gpu = sample.nvml.gpus[0]
    assert [m.name.rsplit(" ", 1)[-1] for m in gpu.mig_devices] == ["3g.40gb", "2g.20gb"]
    assert gpu.mig_devices[0].memory_total_mib == 40192 and gpu.mig_devices[0].sm_count == 42
    by_pid = {p.record.pid: p.record for p in sample.processes}
    assert (by_pid[100].gpu_instance_id, by_pid[100].compute_instance_id) == (1, 0)
    assert (by_pid[200].gpu_instance_id, by_pid[200].compute_instance_id) == (5, 0)


def test_no_mig_processes_carry_no_instance_ids():
    sample = NvmlSampler(FakeNvml(geforce())).sample()
    assert sample.processes[0].record.gpu_instance_id is None


@pytest.mark.parametrize(
    "record, name", [(None, "LibraryNotFound"), (NvmlRecord(init_error="DriverNotLoaded"), "DriverNotLoaded")]
)
def test_start_failures_are_a_problem_not_an_exception_and_are_retried(record, name):
    clock = Clock()
    nvml = FakeNvml(record)
    inits = counting(nvml, "nvmlInit")
    sampler = NvmlSampler(nvml, clock=clock, retry_s=5)
    assert sampler.sample().problem == name
    clock.t = 2
    assert sampler.sample().problem == name and len(inits) == 1  # not before retry_s
    clock.t = 6
    sampler.sample()
    assert len(inits) == 2


def test_recovers_when_the_driver_comes_back():
    clock = Clock()
    nvml = FakeNvml(NvmlRecord(init_error="DriverNotLoaded"))
    sampler = NvmlSampler(nvml, clock=clock, retry_s=5)
    assert sampler.sample().problem == "DriverNotLoaded"
    nvml._record = geforce()  # `modprobe nvidia` happened
    clock.t = 10
    sample = sampler.sample()
    assert sample.problem is None and sample.nvml.gpus[0].name == "NVIDIA GeForce MX150"


def test_library_mismatch_is_a_plain_exception_in_pynvml():
    class Mismatched(FakeNvml):
        def nvmlInit(self) -> None:
            raise pynvml.NVMLLibraryMismatchError("Unversioned function called and the pyNVML version does not match")

    assert not issubclass(pynvml.NVMLLibraryMismatchError, pynvml.NVMLError)
    assert NvmlSampler(Mismatched(geforce())).sample().problem == "LibRmVersionMismatch"


def test_gpu_lost_mid_run_then_back():
    clock = Clock()
    host = ProfileHost(load_profile("dgx-h100x8", {}))
    nvml = host.nvml()
    sampler = NvmlSampler(nvml, clock=clock, retry_s=5)
    assert sampler.sample().lost == frozenset()
    nvml.lost.add(3)
    clock.t = 1
    sample = sampler.sample()
    assert sample.lost == {3} and sample.problem is None
    lost = sample.nvml.gpus[3]
    assert lost.name == "NVIDIA H100 80GB HBM3" and lost.pci_bus_id == "00000000:5D:00.0"
    assert lost.utilization_gpu is None  # static fields only
    assert sample.nvml.gpus[2].utilization_gpu is not None  # the others go on
    assert not any(p.gpu_index == 3 for p in sample.processes)
    clock.t = 3
    assert sampler.sample().lost == {3}
    nvml.lost.clear()
    clock.t = 7  # past retry_s: the session is opened again
    sample = sampler.sample()
    assert sample.lost == frozenset() and sample.nvml.gpus[3].utilization_gpu is not None


def test_process_calls_fall_back_from_v3_to_v2():
    nvml = FakeNvml(geforce(), process_api="v2")
    sample = NvmlSampler(nvml).sample()
    assert [p.record.pid for p in sample.processes] == [936]
    assert sample.processes[0].record.type == "G"
    assert "Graphics_v2" in nvml.calls and not any(c.endswith("_v3") for c in nvml.calls)


def test_process_calls_fall_back_to_v1():
    nvml = FakeNvml(a100_mig(), process_api="v1")
    sample = NvmlSampler(nvml).sample()
    assert {p.record.pid for p in sample.processes} == {100, 200}
    assert all(p.record.gpu_instance_id is None for p in sample.processes)  # v1 has no instance ids
    assert "Compute_v1" in nvml.calls


def test_the_version_that_answered_is_remembered():
    nvml = FakeNvml(geforce(), process_api="v2")
    sampler = NvmlSampler(nvml)
    sampler.sample()
    nvml.calls.clear()
    sampler.sample()
    assert nvml.calls == ["Compute_v2", "Graphics_v2"]


@pytest.mark.parametrize(
    "version, broken",
    [
        ("535.43.02", True),
        ("535.54.03", True),
        ("535.86.10", True),
        ("535.104.05", False),
        ("530.30.02", False),
        ("550.54.15", False),
        (None, False),
    ],
)
def test_the_535_struct_trap_range(version, broken):
    assert broken_v3(version) is broken


def test_drivers_535_43_to_535_86_are_asked_through_v2():
    nvml = FakeNvml(replace(geforce(), driver_version="535.54.03"))
    sample = NvmlSampler(nvml).sample()
    assert [p.record.pid for p in sample.processes] == [936]
    assert not any(c.endswith("_v3") for c in nvml.calls) and "Compute_v2" in nvml.calls


def test_v1_struct_layout_matches_nvml():
    import ctypes

    from gpuwiz.backends.nvml.processes import _ProcessInfoV1

    assert ctypes.sizeof(_ProcessInfoV1) == 16  # unsigned int pid (+4 padding), unsigned long long memory
    assert ctypes.sizeof(pynvml.c_nvmlProcessInfo_v2_t) == 24


def test_not_available_memory_is_none():
    from gpuwiz.backends.nvml.processes import NOT_AVAILABLE, memory_mib

    assert memory_mib(NOT_AVAILABLE) is None and memory_mib(None) is None and memory_mib(2 * 2**20) == 2


def test_throttle_reasons_and_new_fields_round_trip():
    gpu = replace(
        geforce().gpus[0],
        throttle_reasons=("GpuIdle", "SwPowerCap"),
        encoder_util=3,
        decoder_util=0,
        pcie_tx_kbs=1200,
        pcie_rx_kbs=34000,
        clocks_max_sm_mhz=1911,
        clocks_max_mem_mhz=3004,
        temperature_slowdown_c=97,
    )
    got = NvmlSampler(FakeNvml(NvmlRecord(None, "550.54.15", 12040, (gpu,)))).sample().nvml.gpus[0]
    assert got.throttle_reasons == ("GpuIdle", "SwPowerCap")
    assert (got.encoder_util, got.decoder_util, got.pcie_tx_kbs, got.pcie_rx_kbs) == (3, 0, 1200, 34000)
    assert (got.clocks_max_sm_mhz, got.temperature_slowdown_c) == (1911, 97)


def test_motion_stays_within_the_cards_limits_and_is_repeatable():
    record = load_profile("dgx-h100x8", {}).nvml
    seen_counts = set()
    for t in range(0, 900, 7):
        frame = moved(record, float(t), 1)
        assert frame == moved(record, float(t), 1)
        for base, gpu in zip(record.gpus, frame.gpus, strict=True):
            assert 0 <= gpu.utilization_gpu <= 100
            assert 0 <= gpu.memory_used_mib <= gpu.memory_total_mib
            assert gpu.power_draw_w <= gpu.power_limit_w
            assert gpu.temperature_c < (gpu.temperature_slowdown_c or 95)
            assert gpu.clocks_sm_mhz <= (gpu.clocks_max_sm_mhz or base.clocks_sm_mhz)
            seen_counts.add(len(gpu.processes))
    assert len(seen_counts) > 1  # processes come and go
    assert moved(record, 10.0, 1) != moved(record, 11.0, 1)


def test_a_killed_process_disappears_from_the_profile():
    import signal

    host = ProfileHost(load_profile("laptop-mx150", {}))
    assert host.signal_process(936, signal.SIGTERM) is None
    assert host.signals == [(936, signal.SIGTERM)]
    sample = NvmlSampler(host.nvml(), process_info=host.process_info).sample()
    assert sample.processes == ()
    assert "gone" in host.signal_process(936, signal.SIGTERM)


def test_process_table_reads_this_process():
    import os

    from gpuwiz.backends.machine.processes import ProcessTable

    table = ProcessTable()
    info = table.info(os.getpid())
    assert info is not None and info.user and info.cmdline and info.elapsed_s >= 0
    assert table.info(2**22 + 12345) is None  # above pid_max: never a process


def test_real_signal_refusals(tmp_path):
    import signal
    import subprocess
    import sys

    from gpuwiz.backends.machine.host import RealHost

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert RealHost({}).signal_process(child.pid, signal.SIGTERM) is None
        assert child.wait(timeout=10) == -signal.SIGTERM
    finally:
        child.kill()
    assert "gone" in RealHost({}).signal_process(child.pid, signal.SIGTERM)


def test_pid_namespace():
    from gpuwiz.backends.machine.processes import in_initial_pid_namespace

    assert in_initial_pid_namespace("pid:[4026531836]") and in_initial_pid_namespace(None)
    assert not in_initial_pid_namespace("pid:[4026532513]")
