"""The fault profiles (DIAGNOSTICS.md rows 4-7): doctor names each machine's fault and its fix."""

from __future__ import annotations

from gpuwiz.backends.doctor import run_doctor
from gpuwiz.backends.findings import Status


def finding(report, finding_id):
    found = [f for layer in report.layers for f in layer.findings if f.id == finding_id]
    assert found, f"{finding_id} not reported: {[f.id for layer in report.layers for f in layer.findings]}"
    return found[0]


def test_secureboot_unenrolled_mok(profile_host):
    report = run_doctor(profile_host("secureboot-unenrolled-mok"))
    key = finding(report, "driver.secure-boot-key")
    assert key.status is Status.FAIL
    assert "mokutil --import /var/lib/shim-signed/mok/MOK.der" in key.fix
    assert any("not enrolled" in e for e in key.evidence)
    driver = report.facts.driver
    assert driver.mok_enrolled is False and driver.mok_path == "/var/lib/shim-signed/mok/MOK.der"
    assert "nvidia" not in driver.loaded_modules and "nouveau" not in driver.loaded_modules
    assert report.facts.hardware.secure_boot is True
    assert finding(report, "driver.nvml").status is Status.FAIL  # DriverNotLoaded
    # DKMS did its part: the module is built for the running kernel, so no dkms-build finding
    assert not [f for layer in report.layers for f in layer.findings if f.id == "driver.dkms-build"]
    assert report.exit_code == 1


def test_mismatch_after_upgrade(profile_host):
    report = run_doctor(profile_host("mismatch-after-upgrade"))
    mismatch = finding(report, "driver.version-mismatch")
    assert mismatch.status is Status.FAIL
    assert "Reboot" in mismatch.fix
    assert "535.154.05" in mismatch.message and "535.183.01" in mismatch.message
    assert any("API mismatch" in e for e in mismatch.evidence)
    held = finding(report, "driver.not-held")
    assert held.status is Status.WARN and held.fix.startswith("apt-mark hold ")
    assert "nvidia-driver-535" in held.fix.split()
    assert finding(report, "driver.module").status is Status.OK  # the old module is still loaded
    assert report.facts.driver.kernel_module_version == "535.154.05"
    assert report.facts.driver.nvml.init_error == "LibRmVersionMismatch"


def test_headers_missing_after_kernel_update(profile_host):
    report = run_doctor(profile_host("headers-missing-after-kernel-update"))
    dkms = finding(report, "driver.dkms-build")
    assert dkms.status is Status.FAIL
    assert "linux-headers-5.15.0-121-generic" in dkms.fix
    assert "dkms autoinstall" in dkms.fix
    driver = report.facts.driver
    assert driver.headers_present is False
    # the old kernel's module is there, the running kernel's is not
    assert [(m.kernel, m.installed) for m in driver.dkms] == [("5.15.0-119-generic", True)]
    assert report.facts.hardware.kernel == "5.15.0-121-generic"
    assert finding(report, "driver.module").status is Status.FAIL


def test_blackwell_proprietary(profile_host):
    report = run_doctor(profile_host("blackwell-proprietary"))
    blackwell = finding(report, "driver.blackwell-open")
    assert blackwell.status is Status.FAIL
    assert "-open" in blackwell.fix
    assert any("RmInitAdapter failed!" in e for e in blackwell.evidence)
    gpu = report.facts.hardware.nvidia_gpus[0]
    assert (gpu.pci_id, gpu.model.chip, gpu.model.architecture) == ("10de:2b85", "GB202", "Blackwell")
    driver = report.facts.driver
    assert driver.module_flavour == "proprietary" and driver.kernel_module_version == "580.105.08"
    assert finding(report, "driver.nvidia-smi").status is Status.FAIL  # "No devices were found"
