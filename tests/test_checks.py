"""Checks recognise DIAGNOSTICS.md's faults from evidence (facts edited from a real profile)."""

from __future__ import annotations

from dataclasses import replace

from backends.doctor import diagnose
from backends.probes import probe_all


def findings(facts) -> dict[str, str]:
    return {f.id: f.status.value for r in diagnose(facts).layers for f in r.findings}


def homelab(profile_host):
    return probe_all(profile_host("homelab-ready"))


def test_driver_library_mismatch(profile_host):
    """Row 5: libraries upgraded under a loaded module."""
    facts = homelab(profile_host)
    nvml = replace(facts.driver.nvml, init_error="LibRmVersionMismatch", driver_version=None, gpus=())
    got = findings(replace(facts, driver=replace(facts.driver, nvml=nvml)))
    assert got["driver.version-mismatch"] == "fail"


def test_run_installer_beside_packages(profile_host):
    """Row 8: a .run install beside distribution packages."""
    facts = homelab(profile_host)
    got = findings(replace(facts, driver=replace(facts.driver, run_installer=True)))
    assert got["driver.run-installer"] == "fail"


def test_stale_nvidia_sources(profile_host):
    """Row 9: an old nvidia-docker.list beside the new list."""
    facts = homelab(profile_host)
    sources = (*facts.toolkit.nvidia_sources, "/etc/apt/sources.list.d/nvidia-docker.list")
    got = findings(replace(facts, toolkit=replace(facts.toolkit, nvidia_sources=sources)))
    assert got["toolkit.stale-sources"] == "warn"


def test_libnvidia_ml_missing(profile_host):
    """Row 10: driver libraries not in the linker cache."""
    facts = homelab(profile_host)
    got = findings(replace(facts, toolkit=replace(facts.toolkit, libnvidia_ml_cached=False)))
    assert got["toolkit.libnvidia-ml"] == "fail"


def test_old_toolkit_with_containerd2_config(profile_host):
    """Row 11: `unsupported config version: 3`."""
    facts = homelab(profile_host)
    runtime = replace(facts.runtime, containerd=replace(facts.runtime.containerd, config_version=3))
    got = findings(replace(facts, runtime=runtime))
    assert got["toolkit.too-old-for-containerd2"] == "fail"
    newer = replace(facts.toolkit, ctk_version="1.17.4")
    assert "toolkit.too-old-for-containerd2" not in findings(replace(facts, runtime=runtime, toolkit=newer))


def test_docker_config_not_applied(profile_host):
    """Row 13: daemon.json names nvidia, the running dockerd does not."""
    facts = probe_all(profile_host("dgx-h100x8"))
    docker = replace(facts.runtime.docker, daemon_runtimes=("io.containerd.runc.v2", "runc"))
    got = findings(replace(facts, runtime=replace(facts.runtime, docker=docker)))
    assert got["runtime.docker.not-applied"] == "fail"


def test_cri_disabled_on_a_kubernetes_node(profile_host):
    """Row 14: Docker's containerd.io config on a kubelet node."""
    facts = homelab(profile_host)
    runtime = replace(facts.runtime, containerd=replace(facts.runtime.containerd, cri_disabled=True))
    assert findings(replace(facts, runtime=runtime))["runtime.containerd.cri-disabled"] == "fail"


def test_crio_dropin_in_the_wrong_folder(profile_host):
    """Row 17: a drop-in in /etc/crio/conf.d, which CRI-O does not read."""
    from backends.facts import CrioFacts

    facts = homelab(profile_host)
    crio = CrioFacts("1.28.1", ("/etc/crio/crio.conf",), ("crun",), "active", ("/etc/crio/conf.d/99-nvidia.toml",))
    report = diagnose(replace(facts, runtime=replace(facts.runtime, crio=crio)))
    crio_finding = next(f for r in report.layers for f in r.findings if f.id == "runtime.crio.nvidia")
    assert crio_finding.status.value == "fail" and "/etc/crio/conf.d" in crio_finding.message


def test_no_allocatable_gpu(profile_host):
    """Row 23: the node offers no nvidia.com/gpu."""
    facts = homelab(profile_host)
    nodes = tuple(replace(n, gpu_allocatable=0) for n in facts.k8s.nodes)
    assert findings(replace(facts, k8s=replace(facts.k8s, nodes=nodes)))["k8s.allocatable"] == "fail"
