"""Probes and checks on every shipped profile: each machine gets the verdict its real twin would."""

from __future__ import annotations

import pytest

from gpuwiz.backends.doctor import run_doctor
from gpuwiz.backends.findings import Layer, Status
from gpuwiz.backends.machine.profiles import SHIPPED_DIR
from gpuwiz.backends.probes import probe_all

ALL_PROFILES = sorted(p.stem for p in SHIPPED_DIR.glob("*.toml"))


def statuses(report) -> dict[str, str]:
    return {f.id: f.status.value for layer in report.layers for f in layer.findings}


def layer_statuses(report) -> list[str]:
    return [r.status.value for r in report.layers]


@pytest.mark.parametrize("name", ALL_PROFILES)
def test_every_probe_command_is_recorded(profile_host, name):
    host = profile_host(name)
    probe_all(host, stop_without_gpu=False)
    asked = list(host.commands)
    unrecorded = [c.argv for c in asked if "not recorded" in host.run(c.argv).stderr]
    assert unrecorded == []


def test_fresh_rtx3060(profile_host):
    report = run_doctor(profile_host("fresh-rtx3060"))
    s = statuses(report)
    assert layer_statuses(report) == ["warn", "fail", "fail", "fail", "skip"]
    assert s["hardware.nvidia-gpu"] == "ok" and s["hardware.secure-boot"] == "warn"
    assert s["driver.nouveau"] == "fail" and s["driver.module"] == "fail"
    assert s["driver.nvml"] == "fail"
    assert s["toolkit.installed"] == "fail" and s["runtime.none"] == "fail"
    gpu = report.facts.hardware.nvidia_gpus[0]
    assert (gpu.pci_id, gpu.driver) == ("10de:2504", "nouveau")
    assert "GeForce RTX 3060 Lite Hash Rate" in gpu.name
    assert report.exit_code == 1


def test_homelab_ready_is_all_green(profile_host):
    report = run_doctor(profile_host("homelab-ready"))
    assert layer_statuses(report) == ["ok"] * 5, [
        (f.id, f.message) for r in report.layers for f in r.findings if f.status is not Status.OK
    ]
    k8s = report.facts.k8s
    assert k8s.flavour == "kubeadm" and k8s.runtime_class_nvidia
    node = next(n for n in k8s.nodes if n.name == k8s.node_name)
    assert node.gpu_allocatable == 1
    assert report.facts.driver.nvml.driver_version == "535.154.05"
    assert report.exit_code == 0


def test_dgx_h100x8(profile_host):
    report = run_doctor(profile_host("dgx-h100x8"))
    assert layer_statuses(report)[:4] == ["ok"] * 4
    assert report.layer(Layer.K8S).status is Status.SKIP
    assert len(report.facts.hardware.nvidia_gpus) == 8
    nvml = report.facts.driver.nvml
    assert len(nvml.gpus) == 8
    assert all(g.persistence_mode and g.ecc_mode and g.mig_mode is False for g in nvml.gpus)
    assert all(g.memory_total_mib == 81559 for g in nvml.gpus)
    assert "nvidia" in report.facts.runtime.docker.runtimes
    assert report.exit_code == 0


def test_dgx_has_dozens_of_processes(profile_host):
    from gpuwiz.backends.nvml.sampler import read_nvml

    host = profile_host("dgx-h100x8")
    record = read_nvml(host.nvml())
    pids = [p.pid for g in record.gpus for p in g.processes]
    assert len(pids) >= 24
    resolved = [pid for pid in pids if host.process_info(pid)]
    assert 0 < len(resolved) < len(pids)  # some live in another PID namespace


def test_vm_bar1(profile_host):
    report = run_doctor(profile_host("vm-bar1"))
    s = statuses(report)
    assert s["hardware.bar1"] == "fail"
    bar1 = next(f for r in report.layers for f in r.findings if f.id == "hardware.bar1")
    assert "pci=realloc" in bar1.fix and "kvm" in bar1.message
    assert any("BAR1 is 0M" in e for e in bar1.evidence)
    assert report.facts.hardware.virtualization == "kvm"
    module = next(f for r in report.layers for f in r.findings if f.id == "driver.module")
    assert "BAR1" in module.fix


def test_laptop_mx150(profile_host):
    report = run_doctor(profile_host("laptop-mx150"))
    assert statuses(report)["hardware.driver-support"] == "warn"  # Pascal: R580 is its last branch
    assert report.layer(Layer.HARDWARE).status is Status.WARN
    assert report.layer(Layer.DRIVER).status in (Status.OK, Status.WARN)
    gpu = report.facts.driver.nvml.gpus[0]
    assert (gpu.name, gpu.memory_total_mib, gpu.power_draw_w, gpu.fan_percent) == (
        "NVIDIA GeForce MX150",
        2048,
        None,
        None,
    )
    assert report.facts.driver.nvml.driver_version == "515.86.01"
    assert [d.driver for d in report.facts.hardware.other_display] == ["i915"]
    not_held = [f for r in report.layers for f in r.findings if f.id == "driver.not-held"]
    for f in not_held:  # multiarch packages are named once
        names = f.fix.split()[3:]
        assert len(names) == len(set(names))


def test_no_gpu(profile_host):
    report = run_doctor(profile_host("no-gpu"))
    assert layer_statuses(report) == ["fail", "skip", "skip", "skip", "skip"]
    first = report.layer(Layer.HARDWARE).findings[0]
    assert first.id == "hardware.nvidia-gpu" and "ASPEED" in first.message
    assert report.facts.driver is None
    assert report.exit_code == 1


def test_processes_pids_in_profiles_are_consistent(profile_host):
    """Every [processes.PID] is a GPU process or an ancestor of one (the detail view's parent chain):
    no stray entries, and every ppid that is recorded leads to a recorded process or init."""
    from gpuwiz.backends.machine.profiles import load_profile

    for name in ALL_PROFILES:
        profile = load_profile(name, {})
        procs = profile.processes
        gpu_pids = {p.pid for g in (profile.nvml.gpus if profile.nvml else ()) for p in g.processes}
        ancestors: set[int] = set()
        for pid in gpu_pids:
            ppid = procs[pid].ppid if pid in procs else None
            while ppid and ppid not in ancestors:
                ancestors.add(ppid)
                assert ppid in procs, f"{name}: ppid {ppid} has no [processes.{ppid}]"
                ppid = procs[ppid].ppid
        assert set(procs) <= gpu_pids | ancestors, name
