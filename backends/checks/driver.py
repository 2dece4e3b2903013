"""Driver checks: module loaded and not shadowed by nouveau, versions agree, NVML works."""

from __future__ import annotations

import re

from gpuwiz.backends.checks.hardware import bar_faults, once
from gpuwiz.backends.driver_outputs import ALREADY_BOUND, API_MISMATCH, KEY_REJECTED, REQUIRES_OPEN, RM_INIT_ADAPTER
from gpuwiz.backends.facts import DriverFacts, HardwareFacts
from gpuwiz.backends.findings import Finding, Layer, Status
from gpuwiz.backends.gpu_records import cuda_version_text
from gpuwiz.backends.machine.distro import package_words

L = Layer.DRIVER


def check_driver(f: DriverFacts, hw: HardwareFacts) -> list[Finding]:
    out: list[Finding] = []
    shadow = [m for m in ("nouveau", "nova_core") if m in f.loaded_modules]
    bound = sorted({d.driver for d in hw.nvidia_gpus if d.driver in ("nouveau", "nova_core")})
    logged = once(hw.faults(ALREADY_BOUND)) if "nvidia" not in f.loaded_modules else []
    if shadow or bound or logged:
        name = (bound or shadow or ["nova_core"])[0]
        out.append(
            Finding(
                "driver.nouveau",
                L,
                Status.FAIL,
                f"The open-source {name} driver owns the GPU, so the NVIDIA module cannot bind to it.",
                "Blacklist nouveau and nova_core in /etc/modprobe.d, rebuild the initramfs "
                f"({package_words(hw.os).initramfs}), reboot.",
                (
                    *(
                        f"{d.address} bound to {d.driver}"
                        for d in hw.nvidia_gpus
                        if d.driver in ("nouveau", "nova_core")
                    ),
                    *(x.line for x in logged[:1]),
                )
                or (f"lsmod: {name}",),
            )
        )
    if f.run_installer:
        out.append(
            Finding(
                "driver.run-installer",
                L,
                Status.WARN if not f.packages else Status.FAIL,
                "A driver installed from NVIDIA's .run file is present"
                + (" beside distribution packages: the two installs fight." if f.packages else "."),
                "Remove it with nvidia-uninstall before installing the distribution's packages.",
                ("/usr/bin/nvidia-uninstall exists",),
            )
        )
    causes = _secure_boot(f, hw) + _dkms_build(f, hw) + _blackwell_flavour(f, hw)
    # a module that cannot load (or init) for a known cause: the generic advice points at that cause
    blocker = "hardware.bar1" if bar_faults(hw) else (causes[0].id if causes else None)
    out += _module_and_nvml(f, hw, blocker=blocker)
    out += causes
    out += _protection(f, hw)
    out += _apt_sources(f, hw)
    return out


def _secure_boot(f: DriverFacts, hw: HardwareFacts) -> list[Finding]:
    """Row 4: Secure Boot rejects a module signed with a MOK that was never enrolled."""
    rejected = once(hw.faults(KEY_REJECTED))
    if "nvidia" in f.loaded_modules or not hw.secure_boot or not (rejected or f.mok_enrolled is False):
        return []
    mok = f.mok_path or "/var/lib/shim-signed/mok/MOK.der"
    return [
        Finding(
            "driver.secure-boot-key",
            L,
            Status.FAIL,
            "Secure Boot refuses the nvidia module: it is signed with a machine-owner key (MOK) the firmware does not trust yet.",
            f"mokutil --import {mok} (choose a one-time password), reboot, and in the blue MOK manager pick "
            "'Enroll MOK' and type it — or use the distribution's pre-signed module packages.",
            (
                *(x.line for x in rejected[:2]),
                *((f"mokutil --test-key {mok}: not enrolled",) if f.mok_enrolled is False else ()),
            ),
        )
    ]


def _dkms_build(f: DriverFacts, hw: HardwareFacts) -> list[Finding]:
    """Row 6: after a kernel update DKMS could not build the module (no headers for the running kernel)."""
    uses_dkms = any("dkms" in p.name for p in f.packages)
    if "nvidia" in f.loaded_modules or not uses_dkms or not hw.kernel:
        return []
    built = f.dkms is not None and any(
        m.module.startswith("nvidia") and m.kernel == hw.kernel and m.installed for m in f.dkms
    )
    if built or f.headers_present is not False:
        return []
    return [
        Finding(
            "driver.dkms-build",
            L,
            Status.FAIL,
            f"DKMS has no nvidia module for the running kernel {hw.kernel}: its headers are not installed.",
            f"Install {package_words(hw.os).headers(hw.kernel)} and run dkms autoinstall"
            + (
                " (on Ubuntu prefer the precompiled linux-modules-nvidia-* packages, which need no DKMS)"
                if hw.os and hw.os.id == "ubuntu"
                else ""
            )
            + ", then reboot or modprobe nvidia.",
            (f"/lib/modules/{hw.kernel}/build is missing",),
        )
    ]


def _blackwell_flavour(f: DriverFacts, hw: HardwareFacts) -> list[Finding]:
    """Row 7: Blackwell needs the open kernel modules; the proprietary flavour fails RmInitAdapter."""
    blackwell = [d for d in hw.nvidia_gpus if d.model and d.model.architecture == "Blackwell"]
    if not blackwell or f.module_flavour != "proprietary":
        return []
    return [
        Finding(
            "driver.blackwell-open",
            L,
            Status.FAIL,
            "Blackwell GPUs need NVIDIA's open kernel modules, but the proprietary flavour is installed.",
            f"Install the -open packages of the same branch (nvidia-driver-{_branch(f) or 'NNN'}-open), remove the "
            "proprietary kernel module package, reboot.",
            tuple(x.line for x in once(hw.faults(REQUIRES_OPEN, RM_INIT_ADAPTER))[:2]),
        )
    ]


def _branch(f: DriverFacts) -> str | None:
    """The installed driver branch: 580 from 580.105.08 or from nvidia-driver-580 / nvidia-dkms-580."""
    if f.kernel_module_version:
        return f.kernel_module_version.split(".")[0]
    for p in f.packages:
        m = re.search(r"-(\d{3})(?:-|$)", p.name)
        if m:
            return m.group(1)
    return None


BLOCKERS = {
    "hardware.bar1": "the BAR1 fault",
    "driver.secure-boot-key": "the Secure Boot key",
    "driver.dkms-build": "the DKMS build",
    "driver.blackwell-open": "the kernel-module flavour",
}


def _first(blocker: str) -> str:
    return f"Fix {BLOCKERS[blocker]} first (see {blocker}): the driver cannot initialise the GPU until then."


def _module_and_nvml(f: DriverFacts, hw: HardwareFacts, *, blocker: str | None) -> list[Finding]:
    out = []
    loaded = "nvidia" in f.loaded_modules
    installed = sorted(
        {p.version for p in f.packages if p.name.startswith(("nvidia-driver", "nvidia-utils", "libnvidia-compute"))}
    )
    if not loaded:
        out.append(
            Finding(
                "driver.module",
                L,
                Status.FAIL,
                "The nvidia kernel module is not loaded"
                + (" although driver packages are installed." if f.packages else ": no NVIDIA driver is installed."),
                _first(blocker)
                if blocker
                else "Reboot into the installed driver (check Secure Boot and nouveau first)."
                if f.packages
                else "Install the NVIDIA driver: `gpuwiz plan` shows how for this system.",
                ("/proc/modules has no nvidia",),
            )
        )
    else:
        out.append(
            Finding(
                "driver.module",
                L,
                Status.OK,
                f"nvidia kernel module {f.kernel_module_version or ''} is loaded.".replace("  ", " "),
            )
        )
    nvml = f.nvml
    api = once(hw.faults(API_MISMATCH))
    mismatch = (
        nvml.init_error == "LibRmVersionMismatch"
        or bool(api)
        or (f.kernel_module_version and nvml.driver_version and f.kernel_module_version != nvml.driver_version)
    )
    if mismatch:
        client = (
            (api[0].get("client_version") if api else None)
            or nvml.driver_version
            or (installed[-1] if installed else None)
        )
        out.append(
            Finding(
                "driver.version-mismatch",
                L,
                Status.FAIL,
                f"Driver/library version mismatch: the loaded kernel module is {f.kernel_module_version or 'older'}, "
                f"the user-space libraries are {client or 'newer'}.",
                "Reboot to load the matching module (if it still differs after the reboot, reinstall the driver "
                "packages); then hold them so upgrades cannot split them again.",
                (
                    "/proc/driver/nvidia/version",
                    "NVML: " + (nvml.init_error or "version differs"),
                    *(a.line for a in api[:1]),
                ),
            )
        )
    elif nvml.init_error:
        fix = {
            "LibraryNotFound": "Install the driver's user-space libraries (libnvidia-compute / nvidia-utils)."
            if f.packages
            else "NVML comes with the driver: installing it (see `gpuwiz plan`) fixes this too.",
            "DriverNotLoaded": "Load the kernel module (reboot after installing the driver).",
            "NoPermission": "Run as root or fix the permissions of /dev/nvidia*.",
        }.get(nvml.init_error, "Check the kernel log (dmesg) for NVRM errors.")
        fix = _first(blocker) if blocker else fix
        out.append(Finding("driver.nvml", L, Status.FAIL, f"NVML does not initialise: {nvml.init_error}.", fix))
    elif not nvml.gpus and hw.nvidia_gpus:
        out.append(
            Finding(
                "driver.nvml",
                L,
                Status.FAIL,
                f"NVML starts (driver {nvml.driver_version}) but sees no GPU although {len(hw.nvidia_gpus)} NVIDIA "
                "GPU(s) are on the PCI bus: the driver failed to initialise them.",
                _first(blocker) if blocker else "Read the kernel log (dmesg | grep NVRM) for the reason.",
            )
        )
    else:
        cuda = cuda_version_text(nvml.cuda_driver_version)
        out.append(
            Finding(
                "driver.nvml",
                L,
                Status.OK,
                f"NVML sees {len(nvml.gpus)} GPU(s): driver {nvml.driver_version}"
                + (f", CUDA {cuda}." if cuda else "."),
            )
        )
    if loaded and "/dev/nvidia0" not in f.device_nodes:
        out.append(
            Finding(
                "driver.device-nodes",
                L,
                Status.WARN,
                "/dev/nvidia0 is missing although the module is loaded.",
                "Run nvidia-smi once as root (or nvidia-modprobe) to create the device nodes.",
            )
        )
    if f.nvidia_smi_rc not in (None, 0):
        line = (f.nvidia_smi_output.splitlines() or ["no output"])[0]
        more = (f.nvidia_smi_output,) if "\n" in f.nvidia_smi_output.strip() else ()
        out.append(Finding("driver.nvidia-smi", L, Status.FAIL, f"nvidia-smi fails: {line}", None, more))
    return out


def _apt_sources(f: DriverFacts, hw: HardwareFacts) -> list[Finding]:
    """Debian without its own archive enabled (no `main` entry for the release): nothing can be installed."""
    from gpuwiz.backends.packages.apt import parse_sources, release_has_main

    os = hw.os
    if os is None or os.id != "debian" or not os.codename or f.packages or not f.apt_sources:
        return []
    if release_has_main(parse_sources(dict(f.apt_sources)), os.codename):
        return []
    return [
        Finding(
            "driver.apt-sources",
            L,
            Status.FAIL,
            f"No enabled apt source of Debian {os.codename} has its main component: the driver's packages "
            "cannot be installed from the distribution.",
            f"Add Debian's own archive, e.g. to /etc/apt/sources.list.d/debian.sources: Types: deb, URIs: "
            f"http://deb.debian.org/debian, Suites: {os.codename} {os.codename}-updates, Components: main, "
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg; then apt update and gpuwiz plan.",
            tuple(f"{path}" for path, _ in f.apt_sources),
        )
    ]


def _protection(f: DriverFacts, hw: HardwareFacts) -> list[Finding]:
    names = [p.name for p in f.packages]
    unheld = [
        n
        for n in names
        if n not in f.held_packages
        and n.startswith(("nvidia-driver", "nvidia-dkms", "libnvidia-compute", "nvidia-utils", "linux-modules-nvidia"))
    ]
    if not unheld:
        return []
    return [
        Finding(
            "driver.not-held",
            L,
            Status.WARN,
            f"{len(unheld)} driver package(s) are not held: an unattended upgrade can leave the libraries newer than the loaded module.",
            package_words(hw.os).hold(unheld),
        )
    ]
