"""Driver checks: module loaded and not shadowed by nouveau, versions agree, NVML works.

DIAGNOSTICS.md rows and the findings that recognise them:

| row | fault | finding ids |
|---|---|---|
| 3 | nouveau / nova_core owns the GPU | driver.nouveau |
| 4, 30 | Secure Boot refuses the module: unsigned / signed with a key not enrolled / enrolled yet untrusted | driver.secure-boot-unsigned, driver.secure-boot-key, driver.secure-boot-untrusted |
| 5 | driver/library version mismatch | driver.version-mismatch |
| 6 | DKMS built nothing: headers missing | driver.dkms-build |
| 27 | DKMS build failed with the headers there (make.log, dkms status, dpkg iF/iU) | driver.dkms-build-failed |
| 7 | Blackwell on the proprietary flavour | driver.blackwell-open |
| 8 | a .run install beside packages | driver.run-installer |
| 28 | GSP firmware did not start (RmInitAdapter 0x62, firmware file, WPR2) | driver.gsp |
| 29 | Xid of an application (13/31/43/45), GSP timeout (119/120), context timeout (109) | driver.xid-application, driver.xid-gsp, driver.xid-timeout |
| 31 | a driver without dpkg/rpm (driver container, .run, Talos, NixOS) | driver.source |
| 32 | the installed release does not support the card | driver.unsupported-gpu |

The hardware side of row 29 (79, memory/ECC, NVLink) is in checks/hardware.py.
"""

from __future__ import annotations

import re

from gpuwiz.backends.checks.hardware import bar_faults, gpu_label, once, xid_faults
from gpuwiz.backends.driver_outputs import (
    ALREADY_BOUND,
    API_MISMATCH,
    FIRMWARE_LOAD,
    GSP_INIT_LINE,
    GSP_WPR2,
    KEY_REJECTED,
    REQUIRES_OPEN,
    RM_INIT_ADAPTER,
    UNSIGNED_MODULE,
    UNSUPPORTED_GPU,
    KernelFault,
)
from gpuwiz.backends.facts import DriverFacts, HardwareFacts
from gpuwiz.backends.findings import Finding, Layer, Status
from gpuwiz.backends.gpu_catalog import recommend_branch
from gpuwiz.backends.gpu_records import cuda_version_text
from gpuwiz.backends.machine.distro import package_family, package_words
from gpuwiz.backends.xid_catalog import APPLICATION, GSP, TIMEOUT, xid_info

L = Layer.DRIVER
SOURCES = {
    "container": "the GPU Operator's driver container",
    "run-file": "NVIDIA's .run installer",
    "talos": "Talos' NVIDIA system extension",
    "nixos": "the NixOS configuration (hardware.nvidia)",
}


def _loaded(f: DriverFacts) -> bool:
    """The module is in the kernel: /proc/modules says so, or /proc/driver/nvidia/version exists."""
    return "nvidia" in f.loaded_modules or f.kernel_module_version is not None


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
    causes = (
        _unsupported_gpu(f, hw)
        + _secure_boot(f, hw)
        + _dkms_build(f, hw)
        + _dkms_build_failed(f, hw)
        + _blackwell_flavour(f, hw)
    )
    if not any(c.id == "driver.blackwell-open" for c in causes):
        causes += _gsp(f, hw)
    # a module that cannot load (or init) for a known cause: the generic advice points at that cause
    blocker = "hardware.bar1" if bar_faults(hw) else (causes[0].id if causes else None)
    out += _module_and_nvml(f, hw, blocker=blocker)
    out += causes
    out += _source(f)
    out += _xids(hw)
    out += _protection(f, hw)
    out += _apt_sources(f, hw)
    return out


def _secure_boot(f: DriverFacts, hw: HardwareFacts) -> list[Finding]:
    """Rows 4 and 30: Secure Boot refuses the module. Three causes, three fixes: the module is unsigned; it is
    signed with a key the firmware does not trust yet; it is signed with an enrolled key and still refused."""
    if _loaded(f) or not hw.secure_boot:
        return []
    rejected = once(hw.faults(KEY_REJECTED))
    unsigned_lines = [x for x in rejected if "unsigned" in x.line.lower()] + once(hw.faults(UNSIGNED_MODULE))
    evidence = tuple(x.line for x in (unsigned_lines or rejected)[:2])
    if f.module_signer == "" or unsigned_lines:
        return [_unsigned(f, hw, evidence)]
    if f.mok_enrolled is True:
        if not rejected:
            return []
        return [
            Finding(
                "driver.secure-boot-untrusted",
                L,
                Status.FAIL,
                f"The kernel refuses the nvidia module although it is signed ({f.module_signer or 'by DKMS'}) and that "
                f"key ({f.mok_path}) is enrolled: this kernel does not trust machine-owner keys for modules.",
                "Enrolling again will not help. "
                + (
                    f"Boot the other kernel that has the module ({', '.join(f.other_kernels)}) and hold it there, "
                    if f.other_kernels
                    else "Boot a kernel built with the machine keyring (CONFIG_INTEGRITY_MACHINE_KEYRING), "
                )
                + "or use the distribution's pre-signed module packages.",
                (*evidence, f"mokutil --test-key {f.mok_path}: already enrolled"),
            )
        ]
    if not (rejected or f.mok_enrolled is False):
        return []
    if f.mok_path:
        fix = (
            f"mokutil --import {f.mok_path} (choose a one-time password), reboot, and in the blue MOK manager pick "
            "'Enroll MOK' and type it — or use the distribution's pre-signed module packages."
        )
    else:
        fix = _new_key_words(hw) + " — or use the distribution's pre-signed module packages."
    return [
        Finding(
            "driver.secure-boot-key",
            L,
            Status.FAIL,
            "Secure Boot refuses the nvidia module: it is signed with a machine-owner key (MOK) the firmware does not trust yet.",
            fix,
            (
                *evidence,
                *((f"mokutil --test-key {f.mok_path}: not enrolled",) if f.mok_enrolled is False else ()),
            ),
        )
    ]


def _new_key_words(hw: HardwareFacts) -> str:
    """How to get a signing key where none exists yet (never a path that is not there)."""
    if hw.os and hw.os.id == "ubuntu":
        return "No signing key exists yet: `update-secureboot-policy --new-key` makes one, then enrol it with mokutil --import"
    return "No signing key exists yet: DKMS 3 makes /var/lib/dkms/mok.pub at its next build (dkms autoinstall), then enrol it with mokutil --import"


def _unsigned(f: DriverFacts, hw: HardwareFacts, evidence: tuple[str, ...]) -> Finding:
    pairs = (
        ("/var/lib/shim-signed/mok/MOK.priv", "/var/lib/shim-signed/mok/MOK.der"),
        ("/var/lib/dkms/mok.key", "/var/lib/dkms/mok.pub"),
    )
    key = next(((k, c) for k, c in pairs if k in f.signing_keys and c in f.signing_keys), None)
    enrol = (
        ""
        if f.mok_enrolled
        else f", then mokutil --import {key[1]} and confirm it in the MOK manager at the reboot"
        if key
        else ""
    )
    if f.source == "container":
        fix = (
            "The GPU Operator's driver container builds an unsigned module: use its precompiled, signed driver images "
            "(driver.usePrecompiled=true) or the distribution's signed modules, or have it sign with a key you enrol."
        )
    elif key and f.source == "run-file":
        fix = (
            f"Reinstall with the .run installer's --module-signing-secret-key={key[0]} "
            f"--module-signing-public-key={key[1]}{enrol} — or use the distribution's pre-signed packages."
        )
    elif key:
        fix = (
            f"Sign it with the key that exists ({key[0]}, {key[1]}): rebuild it through DKMS (dkms autoinstall "
            f"--force), which signs with that key{enrol} — or use the distribution's pre-signed module packages."
        )
    else:
        fix = (
            _new_key_words(hw)
            + "; sign the module with it (DKMS does at its next build) — or use the distribution's pre-signed packages."
        )
    return Finding(
        "driver.secure-boot-unsigned",
        L,
        Status.FAIL,
        "Secure Boot refuses the nvidia module: it is not signed at all, so enrolling a key alone cannot help.",
        fix,
        evidence or ("modinfo -F signer nvidia: (empty)",),
    )


def _dkms_build(f: DriverFacts, hw: HardwareFacts) -> list[Finding]:
    """Row 6: after a kernel update DKMS could not build the module (no headers for the running kernel)."""
    uses_dkms = any("dkms" in p.name for p in f.packages)
    if _loaded(f) or not uses_dkms or not hw.kernel:
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


def _kernel_hold(hw: HardwareFacts) -> str:
    """How to keep the package manager on the kernel that works."""
    if package_family(hw.os) == "dnf":
        return "dnf versionlock add kernel kernel-core kernel-modules"
    meta = {"ubuntu": "linux-generic", "pop": "linux-system76"}.get(hw.os.id if hw.os else "")
    if meta is None and hw.os and hw.os.id == "debian":
        meta = "linux-image-arm64" if hw.arch == "aarch64" else "linux-image-amd64"
    return f"apt-mark hold {meta}" if meta else "apt-mark hold the kernel's metapackage"


def _dkms_build_failed(f: DriverFacts, hw: HardwareFacts) -> list[Finding]:
    """Row 27: the headers are there and DKMS still could not build: this release does not build on this kernel."""
    if _loaded(f) or not hw.kernel or f.headers_present is False:
        return []
    kernel = hw.kernel
    logs = [log for log in f.dkms_logs if log.failed]
    broken = [p for p in f.packages if p.broken]
    term = [line for line in f.apt_term_errors if kernel in line or "dpkg: error" in line or "Consult" in line]
    if not (logs or (broken and any("dkms" in p.name for p in broken)) or any(kernel in line for line in term)):
        return []
    log = logs[0] if logs else None
    name = f"{log.module}/{log.version}" if log and log.module else None
    if name is None:
        tree = next((m for m in f.dkms or () if m.module.startswith("nvidia")), None)
        name = f"{tree.module}/{tree.version}" if tree else "nvidia"
    path = log.path if log else next((line.split()[1] for line in term if line.startswith("Consult ")), None)
    states = ", ".join(f"{p.name} {p.state}" for p in broken)
    other = f.other_kernels[0] if f.other_kernels else None
    fix = (
        f"This driver release does not build against kernel {kernel}. "
        + (
            f"Boot the previous kernel {other}, which has a built module (GRUB's 'Advanced options'), "
            if other
            else "If an older kernel is installed, boot it (GRUB's 'Advanced options') "
        )
        + f"and hold the kernel there ({_kernel_hold(hw)}) until a driver release that supports {kernel} is out; "
        "or install that newer driver release now"
        + (f" (a newer point release or branch than {name.split('/')[-1]})" if "/" in name else "")
        + (", then finish the half-done packages with dpkg --configure -a." if broken else ".")
    )
    return [
        Finding(
            "driver.dkms-build-failed",
            L,
            Status.FAIL,
            f"DKMS could not build {name} for the running kernel {kernel} although its headers are installed"
            + (f" (log: {path})" if path else "")
            + (f"; first error: {log.error}" if log and log.error else "")
            + (f"; dpkg left {states}" if broken else "")
            + ".",
            fix,
            tuple(
                dict.fromkeys(
                    (
                        *((f"{log.path}: {log.error}",) if log and log.error else ()),
                        *term[:4],
                        *(f"dpkg: {p.name} {p.status.strip()} ({p.state})" for p in broken),
                    )
                )
            ),
        )
    ]


def _other_flavour(f: DriverFacts) -> str:
    """The package (or installer option) of the other kernel-module flavour, same branch."""
    branch = _branch(f) or "NNN"
    if f.source == "run-file" or not f.packages:
        return (
            "the .run installer's --kernel-module-type=proprietary (older .run: -m=kernel)"
            if f.module_flavour == "open"
            else "the .run installer's --kernel-module-type=open"
        )
    names = [p.name for p in f.packages]
    if f.module_flavour == "open":
        if any(n.startswith("nvidia-kernel-open-") for n in names):  # NVIDIA's CUDA repository
            return f"nvidia-dkms-{branch} in place of nvidia-kernel-open-{branch}"
        return f"nvidia-driver-{branch} in place of nvidia-driver-{branch}-open"
    return f"nvidia-driver-{branch}-open"


def _gsp(f: DriverFacts, hw: HardwareFacts) -> list[Finding]:
    """Row 28: the GSP firmware did not start, so RmInitAdapter failed."""
    gsp_lines = [line for line in hw.kernel_log if GSP_INIT_LINE.search(line)]
    rm = [x for x in once(hw.faults(RM_INIT_ADAPTER)) if (x.get("code") or "").startswith(("0x62:", "0x63:"))]
    firmware = [x for x in once(hw.faults(FIRMWARE_LOAD)) if "gsp" in (x.get("file") or "")]
    wpr2 = once(hw.faults(GSP_WPR2))
    if not (gsp_lines or firmware or wpr2):
        return []
    archs = {d.model.architecture for d in hw.nvidia_gpus if d.model}
    code = rm[0].get("code") if rm else None
    ways = []
    if firmware:
        missing = firmware[0].get("file") or ""
        version = f.kernel_module_version or (missing.split("/")[-2] if "/" in missing else "")
        ways.append(
            f"install the firmware the module asks for ({missing}, error {firmware[0].get('error')}): it ships with "
            f"the driver packages of the same version {version} and must sit under /lib/firmware/nvidia/{version}/"
        )
    if wpr2:
        ways.append("power the machine off and on (or nvidia-smi -r): GSP found the GPU still set up from before")
    if f.module_flavour == "open" and not archs & {"Hopper", "Blackwell"}:
        ways.append(f"switch to the proprietary kernel-module flavour ({_other_flavour(f)})")
    if f.module_flavour in ("open", "proprietary") and archs and archs <= {"Turing", "Ampere", "Ada Lovelace"}:
        ways.append(
            "with the proprietary flavour, turn GSP off: options nvidia NVreg_EnableGpuFirmware=0 in "
            f"/etc/modprobe.d/nvidia-gsp.conf, {package_words(hw.os).initramfs}, reboot"
        )
    elif f.module_flavour == "proprietary" and not archs & {"Hopper", "Blackwell"}:
        ways.append(f"the open flavour ({_other_flavour(f)})")
    ways.append("a newer driver release (GSP fixes land in point releases)")
    return [
        Finding(
            "driver.gsp",
            L,
            Status.FAIL,
            "The GPU System Processor (GSP) firmware did not start, so the driver cannot initialise the GPU"
            + (f" (RmInitAdapter failed: {code})" if code else "")
            + ".",
            "Ways out: " + "; ".join(ways) + ".",
            tuple(
                dict.fromkeys(
                    (
                        *gsp_lines[:1],
                        *(x.line for x in (*firmware[:1], *wpr2[:1], *rm[:1])),
                        *(f"firmware present: {p}" for p in f.firmware_files[:2]),
                    )
                )
            ),
        )
    ]


def _unsupported_gpu(f: DriverFacts, hw: HardwareFacts) -> list[Finding]:
    """Row 32: the installed release does not drive this card; name the branch that does."""
    faults = once(hw.faults(UNSUPPORTED_GPU))
    if not faults:
        return []
    fault = faults[0]
    version = fault.get("driver_version") or f.kernel_module_version or "installed"
    pci = fault.get("pci")
    device = next((d for d in hw.nvidia_gpus if pci and d.address.startswith(pci)), None) or (
        hw.nvidia_gpus[0] if len(hw.nvidia_gpus) == 1 else None
    )
    label = gpu_label(device) if device else (fault.get("gpu_name") or "this GPU")
    arch = device.model.architecture if device and device.model else None
    choice = recommend_branch([arch]) if arch else None
    branch = fault.get("legacy_branch") or (choice.branch if choice else None)
    if branch:
        package = f"nvidia-driver-{branch}" + ("-open" if choice and choice.open_modules == "required" else "")
        fix = (
            f"Install the R{branch} driver ({package}), which supports {arch or 'it'}, in place of {version}, then reboot"
            + (f"; {choice.reason}" if choice else ".")
        )
    else:
        fix = "No current NVIDIA driver supports this card (see hardware.driver-support)."
    return [
        Finding(
            "driver.unsupported-gpu",
            L,
            Status.FAIL,
            f"The installed NVIDIA {version} driver does not support {label}"
            + (f" ({arch})" if arch else "")
            + ", so it ignores the card.",
            fix,
            tuple(x.line for x in faults[:2]),
        )
    ]


def _source(f: DriverFacts) -> list[Finding]:
    """Row 31: a driver that no package manager knows; say where it comes from instead of "not installed"."""
    if f.packages or f.source is None:
        return []
    there = _loaded(f) or bool(f.device_nodes)
    version = f.kernel_module_version or f.nvml.driver_version
    return [
        Finding(
            "driver.source",
            L,
            Status.OK if there else Status.WARN,
            f"The NVIDIA driver{' ' + version if version else ''} comes from {SOURCES.get(f.source, f.source)}, "
            "not from distribution packages" + ("." if there else ", and its module is not loaded."),
            None
            if there
            else "Load it the way that install does (its service, extension or installer), not with packages.",
            f.source_evidence,
        )
    ]


def _xids(hw: HardwareFacts) -> list[Finding]:
    """Row 29, the driver's side: the application's own Xids (never the driver's fault), GSP and context timeouts."""
    out = []
    by_kind: dict[str, list[KernelFault]] = {}
    for x in xid_faults(hw):
        by_kind.setdefault(xid_info(x.get("xid") or "").kind, []).append(x)
    apps = by_kind.get(APPLICATION, [])
    if apps:
        who = sorted(
            {f"{x.get('name')} (pid {x.get('pid')})" for x in apps if x.get("name") and x.get("name") != "<unknown>"}
        )
        codes = sorted({int(x.get("xid") or 0) for x in apps})
        out.append(
            Finding(
                "driver.xid-application",
                L,
                Status.WARN,
                "Xid "
                + ", ".join(f"{c} ({xid_info(c).meaning})" for c in codes)
                + (f" from {', '.join(who[:3])}" if who else "")
                + ": the application's own fault; the driver and the GPU are fine.",
                "Debug that application (compute-sanitizer, CUDA_LAUNCH_BLOCKING=1); nothing in the driver needs changing.",
                tuple(x.line for x in apps[:3]),
            )
        )
    gsp = by_kind.get(GSP, [])
    if gsp:
        codes = sorted({int(x.get("xid") or 0) for x in gsp})
        out.append(
            Finding(
                "driver.xid-gsp",
                L,
                Status.FAIL,
                "Xid " + ", ".join(f"{c} ({xid_info(c).meaning})" for c in codes) + " on " + _pcis(gsp) + ".",
                "Reset the GPU (nvidia-smi -r) or reboot; then move to a newer driver release. Before Hopper, the "
                "proprietary flavour can run without GSP (options nvidia NVreg_EnableGpuFirmware=0).",
                tuple(x.line for x in gsp[:3]),
            )
        )
    timeouts = by_kind.get(TIMEOUT, [])
    if timeouts:
        out.append(
            Finding(
                "driver.xid-timeout",
                L,
                Status.WARN,
                f"Xid 109 ({xid_info(109).meaning}) on {_pcis(timeouts)}: a channel stopped answering.",
                "If one application always triggers it, debug that application; otherwise update the driver release.",
                tuple(x.line for x in timeouts[:3]),
            )
        )
    return out


def _pcis(faults: list[KernelFault]) -> str:
    return ", ".join(sorted({x.get("pci") or "?" for x in faults}))


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
    "driver.unsupported-gpu": "the driver branch",
    "driver.secure-boot-key": "the Secure Boot key",
    "driver.secure-boot-unsigned": "the module's signature",
    "driver.secure-boot-untrusted": "the kernel's trust in the signing key",
    "driver.dkms-build": "the DKMS build",
    "driver.dkms-build-failed": "the DKMS build",
    "driver.blackwell-open": "the kernel-module flavour",
    "driver.gsp": "the GSP firmware start",
}


def _first(blocker: str) -> str:
    return f"Fix {BLOCKERS[blocker]} first (see {blocker}): the driver cannot initialise the GPU until then."


def _module_and_nvml(f: DriverFacts, hw: HardwareFacts, *, blocker: str | None) -> list[Finding]:
    out = []
    loaded = _loaded(f)
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
                + (
                    " although driver packages are installed."
                    if f.packages
                    else f" although a driver is there ({SOURCES.get(f.source, f.source)})."
                    if f.source
                    else " although /dev/nvidia* exist."
                    if f.device_nodes
                    else ": no NVIDIA driver is installed."
                ),
                _first(blocker)
                if blocker
                else "Reboot into the installed driver (check Secure Boot and nouveau first)."
                if f.packages or f.source or f.device_nodes
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
        status = Status.FAIL
        if nvml.init_error == "LibraryNotFound" and loaded and f.source == "container" and not blocker:
            # the operator's driver keeps its libraries in its own root; containers get them through the toolkit
            status = Status.WARN
            fix = (
                "The driver's libraries live in the GPU Operator's driver container (/run/nvidia/driver), not on the "
                "host: run `chroot /run/nvidia/driver nvidia-smi` there; containers get them through the toolkit."
            )
        elif nvml.init_error == "LibraryNotFound" and loaded and f.source and not blocker:
            fix = f"The driver from {SOURCES.get(f.source, f.source)} is loaded but libnvidia-ml.so.1 is not where the loader looks: add its library directory to the linker path (ldconfig)."
        out.append(Finding("driver.nvml", L, status, f"NVML does not initialise: {nvml.init_error}.", fix))
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
