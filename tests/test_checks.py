"""Checks recognise DIAGNOSTICS.md's faults from evidence (facts edited from a real profile)."""

from __future__ import annotations

from dataclasses import replace

from gpuwiz.backends.doctor import diagnose
from gpuwiz.backends.probes import probe_all


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
    from gpuwiz.backends.facts import CrioFacts

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


def _fault(kind: str, line: str, **fields: str):
    from gpuwiz.backends.driver_outputs import KernelFault

    return KernelFault(kind, line, tuple(fields.items()))


def test_api_mismatch_in_the_kernel_log(profile_host):
    """Row 5 from the kernel's own words (stackhpc/ansible-slurm-appliance#287 style line)."""
    facts = homelab(profile_host)
    line = "NVRM: API mismatch: the client has the version 535.183.01, but NVRM: this kernel module has the version 535.154.05."
    hw = replace(
        facts.hardware,
        kernel_faults=(_fault("api-mismatch", line, client_version="535.183.01", kernel_version="535.154.05"),),
    )
    report = diagnose(replace(facts, hardware=hw))
    f = next(f for r in report.layers for f in r.findings if f.id == "driver.version-mismatch")
    assert f.status.value == "fail" and "535.183.01" in f.message and "Reboot" in f.fix


def _no_module(facts, **driver):
    return replace(facts.driver, loaded_modules=(), kernel_module_version=None, **driver)


def test_secure_boot_key_not_enrolled(profile_host):
    """Row 4: SB on, the DKMS module's MOK not enrolled."""
    facts = homelab(profile_host)
    hw = replace(facts.hardware, secure_boot=True)
    driver = _no_module(facts, mok_enrolled=False, mok_path="/var/lib/shim-signed/mok/MOK.der")
    report = diagnose(replace(facts, hardware=hw, driver=driver))
    f = next(f for r in report.layers for f in r.findings if f.id == "driver.secure-boot-key")
    assert f.status.value == "fail" and "mokutil --import /var/lib/shim-signed/mok/MOK.der" in f.fix
    enrolled = _no_module(facts, mok_enrolled=True, mok_path="/var/lib/shim-signed/mok/MOK.der")
    assert "driver.secure-boot-key" not in findings(replace(facts, hardware=hw, driver=enrolled))


def test_dkms_without_headers(profile_host):
    """Row 6: kernel updated, headers missing, DKMS built nothing for it."""
    from gpuwiz.backends.facts import Package

    facts = homelab(profile_host)
    packages = (*facts.driver.packages, Package("nvidia-dkms-535", "535.154.05-0ubuntu0.22.04.1", "ii "))
    driver = _no_module(facts, packages=packages, headers_present=False, dkms=())
    got = findings(replace(facts, driver=driver))
    assert got["driver.dkms-build"] == "fail"
    with_headers = _no_module(facts, packages=packages, headers_present=True, dkms=())
    assert "driver.dkms-build" not in findings(replace(facts, driver=with_headers))


def test_blackwell_on_the_proprietary_flavour(profile_host):
    """Row 7: an RTX 5090 (GB202) with the proprietary kernel module package."""
    from gpuwiz.backends.gpu_catalog import lookup

    facts = homelab(profile_host)
    gpu = replace(facts.hardware.nvidia_gpus[0], device_id="2b85", model=lookup("2b85"))
    hw = replace(facts.hardware, nvidia_gpus=(gpu,))
    assert (
        findings(replace(facts, hardware=hw, driver=replace(facts.driver, module_flavour="proprietary")))[
            "driver.blackwell-open"
        ]
        == "fail"
    )
    assert "driver.blackwell-open" not in findings(
        replace(facts, hardware=hw, driver=replace(facts.driver, module_flavour="open"))
    )


def test_gpu_fallen_off_the_bus(profile_host):
    facts = homelab(profile_host)
    line = "NVRM: Xid (PCI:0000:2f:00): 79, pid=0, GPU has fallen off the bus."
    hw = replace(facts.hardware, kernel_faults=(_fault("fallen-off-bus", line, pci="0000:2f:00", xid="79"),))
    assert findings(replace(facts, hardware=hw))["hardware.fallen-off-bus"] == "fail"


def test_kepler_needs_the_legacy_branch_and_fermi_none(profile_host):
    """Row 2: Kepler → R470; Fermi → no driver; Kepler + Ada → no single branch."""
    from gpuwiz.backends.gpu_catalog import lookup

    facts = homelab(profile_host)
    base = facts.hardware.nvidia_gpus[0]

    def with_ids(*ids):
        gpus = tuple(replace(base, device_id=i, model=lookup(i), address=f"0000:0{n}:00.0") for n, i in enumerate(ids))
        return diagnose(replace(facts, hardware=replace(facts.hardware, nvidia_gpus=gpus)))

    def support(report):
        return next(f for r in report.layers for f in r.findings if f.id == "hardware.driver-support")

    kepler = support(with_ids("1024"))  # Tesla K40c (GK180GL)
    assert kepler.status.value == "warn" and "R470" in kepler.message
    fermi = support(with_ids("06d1"))  # Tesla C2050 / C2070 (GF100GL)
    assert fermi.status.value == "fail" and "Fermi" in fermi.message
    mixed = support(with_ids("1024", "2684"))  # K40c + RTX 4090 (AD102)
    assert mixed.status.value == "fail"


def test_unknown_new_nvidia_device_is_not_guessed(profile_host):
    facts = homelab(profile_host)
    gpu = replace(facts.hardware.nvidia_gpus[0], device_id="ffff", name=None, model=None)
    report = diagnose(replace(facts, hardware=replace(facts.hardware, nvidia_gpus=(gpu,))))
    f = next(f for r in report.layers for f in r.findings if f.id == "hardware.unknown-gpu")
    assert f.status.value == "warn" and "10de:ffff" in f.message


def test_gpu_already_bound_to_novacore(profile_host):
    """Row 3 on new kernels (beclab/Olares#3963): nova_core took the GPU before nvidia could."""
    facts = homelab(profile_host)
    line = "[  201.910514] NVRM: GPU 0000:01:00.0 is already bound to NovaCore."
    hw = replace(facts.hardware, kernel_faults=(_fault("already-bound", line, pci="0000:01:00.0", driver="NovaCore"),))
    report = diagnose(replace(facts, hardware=hw, driver=_no_module(facts)))
    f = next(f for r in report.layers for f in r.findings if f.id == "driver.nouveau")
    assert f.status.value == "fail" and "nova_core" in f.message and line in f.evidence
