"""Driver faults (DIAGNOSTICS rows 27-32): doctor names each profile's cause and its specific way out."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gpuwiz.backends.doctor import diagnose, run_doctor
from gpuwiz.backends.driver_outputs import (
    FIRMWARE_LOAD,
    GSP_WPR2,
    UNSUPPORTED_GPU,
    KernelFault,
    classify_kernel_log,
    parse_apt_term_log,
    parse_dkms_make_log,
)
from gpuwiz.backends.facts import Package
from gpuwiz.backends.findings import Layer, Status
from gpuwiz.backends.parsers import dpkg_on_disk, dpkg_state
from gpuwiz.backends.probes import probe_all
from gpuwiz.backends.xid_catalog import APPLICATION, GSP, MEMORY, NVLINK, TIMEOUT, xid_info

NO_DRIVER = "no NVIDIA driver is installed"


def ids(report) -> dict[str, Status]:
    return {f.id: f.status for layer in report.layers for f in layer.findings}


def finding(report, finding_id):
    found = [f for layer in report.layers for f in layer.findings if f.id == finding_id]
    assert found, f"{finding_id} not reported: {sorted(ids(report))}"
    return found[0]


def driver_failures(report) -> list[str]:
    return [f.id for f in report.layer(Layer.DRIVER).findings if f.status is Status.FAIL]


# ------------------------------------------------------------------------------------------ row 27: DKMS build


def test_dkms_build_failed_on_a_newer_kernel(profile_host):
    report = run_doctor(profile_host("dkms-build-failed-newer-kernel"))
    f = finding(report, "driver.dkms-build-failed")
    assert f.status is Status.FAIL
    assert "nvidia/580.119.02" in f.message and "6.17.9-76061709-generic" in f.message
    assert "/var/lib/dkms/nvidia/580.119.02/build/make.log" in f.message
    assert "nvidia-dkms-580-open half-configured" in f.message and "nvidia-driver-580-open unpacked" in f.message
    # the real ways out: the previous kernel (named), a hold, a release that supports this kernel
    assert "Boot the previous kernel 6.17.4-76061704-generic" in f.fix
    assert "apt-mark hold" in f.fix and "newer driver release" in f.fix and "dpkg --configure -a" in f.fix
    assert any("Bad return status" in e for e in f.evidence)
    # not "headers missing", not "reboot into the installed driver"
    assert "driver.dkms-build" not in ids(report)
    module = finding(report, "driver.module")
    assert "Reboot into the installed driver" not in module.fix and "driver.dkms-build-failed" in module.fix
    packages = {p.name: p.state for p in report.facts.driver.packages}
    assert packages["nvidia-dkms-580-open"] == "half-configured" and packages["nvidia-driver-580-open"] == "unpacked"


def test_dkms_build_failed_on_debian(profile_host):
    report = run_doctor(profile_host("dkms-build-failed-debian12"))
    f = finding(report, "driver.dkms-build-failed")
    assert f.status is Status.FAIL
    assert "nvidia-current/535.161.08" in f.message and "6.1.0-21-amd64" in f.message
    assert "/var/lib/dkms/nvidia-current/535.161.08/build/make.log" in f.message
    assert "apt-mark hold linux-image-amd64" in f.fix and "newer driver release" in f.fix
    assert "previous kernel 6" not in f.fix  # no older kernel has a module here: none is named
    assert {p.name for p in report.facts.driver.packages if p.broken} == {"nvidia-kernel-dkms", "nvidia-driver"}


def test_dkms_headers_missing_still_says_headers(profile_host):
    report = run_doctor(profile_host("headers-missing-after-kernel-update"))
    assert ids(report)["driver.dkms-build"] is Status.FAIL
    assert "driver.dkms-build-failed" not in ids(report)


# https://github.com/NVIDIA/open-gpu-kernel-modules/issues/501 (530.41.03 on 6.4, make.log tail, verbatim) and
# https://github.com/NVIDIA/open-gpu-kernel-modules/issues/469 (the dkms header line, verbatim)
MAKE_LOG = """\
DKMS make.log for nvidia-530.30.02 for kernel 6.5.0-41-generic (x86_64)
Sun Jun 30 08:38:08 PM +06 2024
make[1]: Entering directory '/usr/src/linux-headers-6.5.0-41-generic'
/var/lib/dkms/nvidia/510.60.02/build/nvidia-drm/nvidia-drm-drv.c:257:21: error: 'struct drm_mode_config' has no member named 'allow_fb_modifiers'
make[2]: *** [scripts/Makefile.build:252: /var/lib/dkms/nvidia/530.41.03/build/nvidia-drm/nvidia-drm-drv.o] Error 1
make[1]: *** [Makefile:2024: /var/lib/dkms/nvidia/530.41.03/build] Error 2
make: *** [Makefile:82: modules] Error 2
"""


def test_make_log_parser():
    log = parse_dkms_make_log(MAKE_LOG, "/var/lib/dkms/nvidia/530.30.02/build/make.log")
    assert (log.module, log.version, log.kernel) == ("nvidia", "530.30.02", "6.5.0-41-generic")
    assert log.failed and "has no member named 'allow_fb_modifiers'" in log.error
    header_only = parse_dkms_make_log("DKMS (dkms-3.2.1) make.log for nvidia/580.65.06 for kernel 6.15.9_1 (x86_64)\n")
    assert (header_only.module, header_only.version, header_only.kernel, header_only.failed) == (
        "nvidia",
        "580.65.06",
        "6.15.9_1",
        False,
    )
    debian = parse_dkms_make_log("DKMS make.log for nvidia-current-535.161.08 for kernel 6.1.0-21-amd64 (x86_64)\n")
    assert (debian.module, debian.version) == ("nvidia-current", "535.161.08")


def test_term_log_keeps_only_the_last_run():
    text = (
        "Log started: 2024-01-01  10:00:00\nError! Bad return status for module build on kernel: 6.1.0-1-amd64 (x86_64)\n"
        "Log started: 2024-02-01  10:00:00\nSetting up nvidia-kernel-dkms ...\nLog ended: 2024-02-01  10:01:00\n"
    )
    assert parse_apt_term_log(text) == ()


def test_dpkg_states():
    assert [dpkg_state(s) for s in ("ii ", "hi ", "iF ", "iU ", "rc ", "un ")] == [
        "installed",
        "installed",
        "half-configured",
        "unpacked",
        "config-files",
        "not-installed",
    ]
    assert [dpkg_on_disk(s) for s in ("iF ", "iU ", "rc ", "un ", "ii ")] == [True, True, False, False, True]
    assert Package("nvidia-dkms-535", "1", "iF ").broken and not Package("nvidia-dkms-535", "1", "ii ").broken


# ------------------------------------------------------------------------------------------------ row 28: GSP


def test_gsp_init_failed_on_the_open_flavour(profile_host):
    report = run_doctor(profile_host("gsp-init-failed-open-turing"))
    f = finding(report, "driver.gsp")
    assert f.status is Status.FAIL
    assert "GSP" in f.message and "0x63:0x56:1689" in f.message
    # the thread's own way out, the GSP switch of the proprietary flavour, a newer release
    assert "nvidia-dkms-515 in place of nvidia-kernel-open-515" in f.fix
    assert "NVreg_EnableGpuFirmware=0" in f.fix and "newer driver release" in f.fix
    assert any("firmware present: /lib/firmware/nvidia/515.43.04/gsp.bin" in e for e in f.evidence)
    nvml = finding(report, "driver.nvml")
    assert "driver.gsp" in nvml.fix and "Read the kernel log" not in nvml.fix


def test_gsp_missing_firmware_and_wpr2_are_recognised():
    # https://github.com/NVIDIA/open-gpu-kernel-modules/issues/263, #943 and #1058 (verbatim lines)
    log = """\
[ 1637.847759] nvidia 0000:01:00.0: Direct firmware load for nvidia/515.43.04/gsp.bin failed with error -2
[   81.967331] NVRM: GPU0 _kgspBootGspRm: unexpected WPR2 already up, cannot proceed with booting GSP
NVRM: loading /lib/firmware/nvidia/570.133.20/gsp_ga10x.bin failed with error -4
"""
    faults = classify_kernel_log(log)
    assert [f.kind for f in faults] == [FIRMWARE_LOAD, GSP_WPR2, FIRMWARE_LOAD]
    assert faults[0].get("file") == "nvidia/515.43.04/gsp.bin" and faults[0].get("error") == "-2"
    assert faults[2].get("file") == "/lib/firmware/nvidia/570.133.20/gsp_ga10x.bin"


def test_gsp_missing_firmware_names_the_file(profile_host):
    facts = probe_all(profile_host("gsp-init-failed-open-turing"))
    line = "[ 1637.847759] nvidia 0000:01:00.0: Direct firmware load for nvidia/515.43.04/gsp.bin failed with error -2"
    hw = replace(
        facts.hardware,
        kernel_log=(line,),
        kernel_faults=(KernelFault(FIRMWARE_LOAD, line, (("file", "nvidia/515.43.04/gsp.bin"), ("error", "-2"))),),
    )
    f = finding(diagnose(replace(facts, hardware=hw)), "driver.gsp")
    assert "nvidia/515.43.04/gsp.bin" in f.fix and "/lib/firmware/nvidia/515.43.04/" in f.fix


# ------------------------------------------------------------------------------------------------ row 29: Xid


def test_xids_by_class(profile_host):
    report = run_doctor(profile_host("xid-errors-inference-vm"))
    app = finding(report, "driver.xid-application")
    assert app.status is Status.WARN
    assert "application's own fault" in app.message and "pt_main_thread" in app.message
    assert "31" in app.message and "43" in app.message
    memory = finding(report, "hardware.xid-memory")
    assert "94" in memory.message and "0000:00:08" in memory.message and "RMA" in memory.fix
    # the driver is healthy: an application's Xid is never a broken driver
    assert driver_failures(report) == []
    assert ids(report)["driver.module"] is Status.OK and ids(report)["driver.nvml"] is Status.OK


@pytest.mark.parametrize("code", ["13", "31", "43", "45"])
def test_an_application_xid_is_not_a_driver_failure(profile_host, code):
    facts = probe_all(profile_host("homelab-ready"))
    line = f"NVRM: Xid (PCI:0000:2f:00): {code}, pid=4242, name=python3, Ch 00000008"
    fault = KernelFault("xid", line, (("pci", "0000:2f:00"), ("xid", code), ("pid", "4242"), ("name", "python3")))
    report = diagnose(replace(facts, hardware=replace(facts.hardware, kernel_faults=(fault,))))
    assert driver_failures(report) == []
    assert report.layer(Layer.HARDWARE).status is not Status.FAIL
    assert "application's own fault" in finding(report, "driver.xid-application").message


@pytest.mark.parametrize(
    "code, finding_id, status",
    [
        ("48", "hardware.xid-memory", Status.FAIL),
        ("95", "hardware.xid-memory", Status.FAIL),
        ("63", "hardware.xid-memory", Status.WARN),
        ("74", "hardware.xid-nvlink", Status.FAIL),
        ("145", "hardware.xid-nvlink", Status.FAIL),
        ("119", "driver.xid-gsp", Status.FAIL),
        ("120", "driver.xid-gsp", Status.FAIL),
        ("109", "driver.xid-timeout", Status.WARN),
    ],
)
def test_xid_classes_say_what_to_do(profile_host, code, finding_id, status):
    facts = probe_all(profile_host("homelab-ready"))
    line = f"NVRM: Xid (PCI:0000:2f:00): {code}, pid='<unknown>', name=<unknown>, something"
    fault = KernelFault("xid", line, (("pci", "0000:2f:00"), ("xid", code)))
    f = finding(diagnose(replace(facts, hardware=replace(facts.hardware, kernel_faults=(fault,)))), finding_id)
    assert f.status is status and code in f.message and f.fix


def test_xid_catalogue():
    assert [xid_info(c).kind for c in (13, 31, 43, 45)] == [APPLICATION] * 4
    assert [xid_info(c).kind for c in (48, 63, 64, 94, 95)] == [MEMORY] * 5
    assert {xid_info(c).kind for c in (74, *range(144, 151))} == {NVLINK}
    assert (xid_info(119).kind, xid_info(120).kind, xid_info(109).kind) == (GSP, GSP, TIMEOUT)


# --------------------------------------------------------------------------------------------- row 30: Secure Boot


def test_secure_boot_enrolled_key_still_refused(profile_host):
    report = run_doctor(profile_host("secureboot-enrolled-key-untrusted"))
    f = finding(report, "driver.secure-boot-untrusted")
    assert f.status is Status.FAIL
    assert "DKMS module signing key" in f.message and "/var/lib/dkms/mok.pub" in f.message
    assert "6.6.155-amd64-desktop-hwe" in f.fix and "mokutil --import" not in f.fix
    assert "driver.secure-boot-key" not in ids(report)


def test_secure_boot_not_enrolled_names_the_key_that_exists(profile_host):
    report = run_doctor(profile_host("secureboot-unenrolled-mok"))
    assert "mokutil --import /var/lib/shim-signed/mok/MOK.der" in finding(report, "driver.secure-boot-key").fix


def _secure_boot_machine(profile_host, **driver):
    facts = probe_all(profile_host("secureboot-unenrolled-mok"))
    return replace(facts, driver=replace(facts.driver, **driver))


def test_secure_boot_unsigned_module_is_signed_with_the_existing_key(profile_host):
    line = "[    7.914402] Lockdown: insmod: unsigned module loading is restricted; see man kernel_lockdown.7"
    facts = _secure_boot_machine(
        profile_host,
        module_signer="",
        signing_keys=("/var/lib/dkms/mok.pub", "/var/lib/dkms/mok.key"),
        mok_path="/var/lib/dkms/mok.pub",
        mok_enrolled=False,
    )
    fault = KernelFault("key-rejected", line, (("process", "insmod"),))
    report = diagnose(replace(facts, hardware=replace(facts.hardware, kernel_faults=(fault,))))
    f = finding(report, "driver.secure-boot-unsigned")
    assert f.status is Status.FAIL and "not signed" in f.message
    assert "/var/lib/dkms/mok.key" in f.fix and "mokutil --import /var/lib/dkms/mok.pub" in f.fix
    assert "shim-signed" not in f.fix  # that key does not exist here
    assert "driver.secure-boot-key" not in ids(report)


def test_secure_boot_never_names_a_key_that_does_not_exist(profile_host):
    facts = _secure_boot_machine(profile_host, mok_path=None, mok_enrolled=None, signing_keys=())
    line = "[    4.208913] Loading of module with unavailable key is rejected"
    hw = replace(facts.hardware, kernel_faults=(KernelFault("key-rejected", line),))
    f = finding(diagnose(replace(facts, hardware=hw)), "driver.secure-boot-key")
    assert "/var/lib/" not in f.fix and "update-secureboot-policy --new-key" in f.fix


def test_secure_boot_unsigned_driver_container(profile_host):
    facts = _secure_boot_machine(profile_host, module_signer="", source="container", signing_keys=(), packages=())
    f = finding(diagnose(facts), "driver.secure-boot-unsigned")
    assert "driver.usePrecompiled=true" in f.fix and "/var/lib/" not in f.fix


# --------------------------------------------------------------------------------------- row 31: no dpkg / rpm


def test_driver_container_is_a_driver(profile_host):
    report = run_doctor(profile_host("gpu-operator-driver-container"))
    assert report.facts.driver.packages == ()
    assert ids(report)["driver.module"] is Status.OK
    source = finding(report, "driver.source")
    assert source.status is Status.OK and "GPU Operator's driver container" in source.message
    assert "/run/nvidia/driver" in source.evidence
    nvml = finding(report, "driver.nvml")
    assert nvml.status is Status.WARN and "/run/nvidia/driver" in nvml.fix
    texts = [f"{f.message} {f.fix or ''}" for layer in report.layers for f in layer.findings]
    assert not [t for t in texts if NO_DRIVER in t or "installing it (see `gpuwiz plan`)" in t]


@pytest.mark.parametrize(
    "source, evidence",
    [
        ("talos", {}),
        ("nixos", {}),
        ("run-file", {}),
        (None, {"device_nodes": ("/dev/nvidiactl", "/dev/nvidia0")}),
        (None, {"kernel_module_version": "550.127.05"}),
    ],
)
def test_no_package_manager_record_is_never_no_driver(profile_host, source, evidence):
    facts = probe_all(profile_host("gpu-operator-driver-container"))
    driver = replace(facts.driver, source=source, loaded_modules=(), kernel_module_version=None, device_nodes=())
    report = diagnose(replace(facts, driver=replace(driver, **evidence)))
    texts = [f"{f.message} {f.fix or ''}" for layer in report.layers for f in layer.findings]
    assert not [t for t in texts if NO_DRIVER in t]


def test_no_plan_installs_packages_over_a_container_driver(profile_host):
    from gpuwiz.backends.planners.registry import build_plan

    report = run_doctor(profile_host("gpu-operator-driver-container"))
    plan = build_plan(report, {})
    assert not [s for s in plan.steps if s.layer is Layer.DRIVER and "install" in s.id]


# --------------------------------------------------------------------------------- row 32: unsupported by release


def test_unsupported_gpu_names_the_branch(profile_host):
    report = run_doctor(profile_host("unsupported-gpu-k80"))
    f = finding(report, "driver.unsupported-gpu")
    assert f.status is Status.FAIL and f.layer is Layer.DRIVER
    assert "510.47.03" in f.message and "Tesla K80" in f.message
    assert "R470" in f.fix and "nvidia-driver-470" in f.fix
    module = finding(report, "driver.module")
    assert "driver.unsupported-gpu" in module.fix and "Reboot into the installed driver" not in module.fix
    assert "hardware.unsupported-by-driver" not in ids(report)


def test_unsupported_gpu_in_the_pci_id_wording(profile_host):
    # https://github.com/NVIDIA/gpu-operator/issues/1371 (verbatim), here on the K80 machine's card
    log = """\
[99083.966246] NVRM: The NVIDIA GPU 0000:00:1e.0 (PCI ID: 10de:102d)
               NVRM: installed in this system is not supported by the
               NVRM: NVIDIA 570.86.15 driver release.
"""
    (fault,) = [f for f in classify_kernel_log(log) if f.kind == UNSUPPORTED_GPU]
    facts = probe_all(profile_host("unsupported-gpu-k80"))
    report = diagnose(replace(facts, hardware=replace(facts.hardware, kernel_faults=(fault,))))
    f = finding(report, "driver.unsupported-gpu")
    assert "570.86.15" in f.message and "R470" in f.fix


def test_legacy_wording_is_parsed():
    log = """\
Mar  3 13:08:28 ip-172-31-37-178 kernel: [ 3570.610602] NVRM: The NVIDIA Tesla K80 GPU installed in this system is
Mar  3 13:08:28 ip-172-31-37-178 kernel: [ 3570.610602] NVRM:  supported through the NVIDIA 470.xx Legacy drivers. Please
Mar  3 13:08:28 ip-172-31-37-178 kernel: [ 3570.610602] NVRM:  visit http://www.nvidia.com/object/unix.html for more
Mar  3 13:08:28 ip-172-31-37-178 kernel: [ 3570.610602] NVRM:  information.  The 510.47.03 NVIDIA driver will ignore
Mar  3 13:08:28 ip-172-31-37-178 kernel: [ 3570.610602] NVRM:  this GPU.  Continuing probe...
"""
    (fault,) = classify_kernel_log(log)
    assert fault.kind == UNSUPPORTED_GPU
    assert fault.details == {"gpu_name": "Tesla K80", "legacy_branch": "470", "driver_version": "510.47.03"}
