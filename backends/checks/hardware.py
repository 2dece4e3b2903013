"""Hardware checks: an NVIDIA GPU, a supported platform, firmware and VM faults."""

from __future__ import annotations

from collections import Counter

from gpuwiz.backends.driver_outputs import BAR_INVALID, FALLEN_OFF_BUS, XID, KernelFault
from gpuwiz.backends.facts import HardwareFacts, PciDevice
from gpuwiz.backends.findings import Finding, Layer, Status
from gpuwiz.backends.gpu_catalog import ARCHITECTURES, PRE_KEPLER, recommend_branch
from gpuwiz.backends.xid_catalog import MEMORY, NVLINK, OTHER, xid_info

L = Layer.HARDWARE
# Platforms the NVIDIA Container Toolkit documents as supported (install guide, 2025).
SUPPORTED_OS = {
    "ubuntu": ("20.04", "22.04", "24.04"),
    "debian": ("11", "12", "13"),
    "rhel": ("8", "9", "10"),
    "rocky": ("8", "9", "10"),
    "almalinux": ("8", "9", "10"),
    "centos": ("8", "9"),
    "ol": ("8", "9"),
    "fedora": (),  # works via the RHEL repository, not listed with versions
    "amzn": ("2", "2023"),
    "opensuse-leap": ("15",),
    "sles": ("15",),
}
SUPPORTED_ARCH = ("x86_64", "aarch64")


def gpu_label(dev: PciDevice) -> str:
    if dev.model and dev.model.name:
        return f"{dev.model.name} ({dev.model.chip}, {dev.address})"
    return f"{dev.name or 'unknown NVIDIA device ' + dev.pci_id} ({dev.address})"


def _gpu_summary(gpus: tuple[PciDevice, ...]) -> str:
    """One card: its name and address; several: "8 × H100 SXM5 80GB (GH100)" per kind."""
    if len(gpus) == 1:
        return gpu_label(gpus[0])
    kinds = Counter(
        f"{d.model.name} ({d.model.chip})" if d.model and d.model.name else f"unknown NVIDIA device {d.pci_id}"
        for d in gpus
    )
    return "; ".join(f"{count} × {kind}" for kind, count in kinds.items())


def _support(f: HardwareFacts) -> list[Finding]:
    """DIAGNOSTICS row 2: is there a driver branch for every card here (and which)?"""
    unknown = [d for d in f.nvidia_gpus if d.model is None or not d.model.architecture]
    if unknown:
        return [
            Finding(
                "hardware.unknown-gpu",
                L,
                Status.WARN,
                "Unknown NVIDIA device "
                + ", ".join(f"{d.pci_id} at {d.address}" for d in unknown)
                + ": newer than gpuwiz's table, so its architecture is not guessed.",
                "Update pci.ids (update-pciids) and gpuwiz; pick the newest driver branch by hand meanwhile.",
            )
        ]
    architectures = [d.model.architecture for d in f.nvidia_gpus if d.model]
    ordered = [a for a in (*ARCHITECTURES, PRE_KEPLER) if a in architectures]
    choice = recommend_branch(architectures)
    if choice is None:
        if PRE_KEPLER in architectures:
            why = "Fermi and older GPUs have no supported NVIDIA driver (the last, R390, is end of life)."
            fix = "Replace the card; no current driver or CUDA supports it."
        else:
            why = f"No single driver branch drives {' and '.join(ordered)} together."
            fix = "Move the older card to another machine (or leave it to nouveau) so one driver drives the rest."
        return [
            Finding("hardware.driver-support", L, Status.FAIL, why, fix, tuple(gpu_label(d) for d in f.nvidia_gpus))
        ]
    if choice.legacy:
        return [
            Finding(
                "hardware.driver-support",
                L,
                Status.WARN,
                f"{choice.reason} The card is at the end of NVIDIA's driver support.",
                f"Stay on the R{choice.branch} driver (CUDA {choice.cuda_version} at most); do not let upgrades move past it.",
            )
        ]
    archs = ", ".join(
        dict.fromkeys(
            f"{d.model.architecture} (CC {d.model.compute_capability or '?'})" for d in f.nvidia_gpus if d.model
        )
    )
    return [Finding("hardware.driver-support", L, Status.OK, f"Current drivers support {archs}.")]


def once(faults: tuple[KernelFault, ...]) -> list[KernelFault]:
    """Each message once: the driver repeats it on every probe attempt."""
    seen: dict[tuple, KernelFault] = {}
    for fault in faults:
        seen.setdefault((fault.kind, fault.fields), fault)
    return list(seen.values())


def bar_faults(f: HardwareFacts) -> list[KernelFault]:
    return once(f.faults(BAR_INVALID))


def xid_faults(f: HardwareFacts) -> list[KernelFault]:
    """Xids other than 79, each (GPU, Xid) once; an Xid 45 "caused by previous Xid N" is that N's consequence."""
    seen: dict[tuple[str | None, str | None], KernelFault] = {}
    for x in f.faults(XID):
        if "caused by previous Xid" in (x.get("message") or ""):
            continue
        seen.setdefault((x.get("pci"), x.get("xid")), x)
    return list(seen.values())


def check_hardware(f: HardwareFacts) -> list[Finding]:
    out: list[Finding] = []
    if not f.nvidia_gpus:
        others = ", ".join(d.name or d.pci_id for d in f.other_display)
        out.append(
            Finding(
                "hardware.nvidia-gpu",
                L,
                Status.FAIL,
                "No NVIDIA GPU is on the PCI bus" + (f" (display adapters found: {others})." if others else "."),
                "Seat the card and power it; in a VM, pass the GPU through to this guest.",
                ("/sys/bus/pci/devices/*: no vendor 0x10de with a display class",),
            )
        )
    else:
        n = len(f.nvidia_gpus)
        out.append(
            Finding(
                "hardware.nvidia-gpu",
                L,
                Status.OK,
                f"{n} NVIDIA GPU{'s' if n > 1 else ''}: " + _gpu_summary(f.nvidia_gpus) + ".",
            )
        )
    out += _platform(f)
    if f.nvidia_gpus:
        out += _support(f)
        out += _firmware(f)
    return out


def _platform(f: HardwareFacts) -> list[Finding]:
    out = []
    if f.os:
        versions = SUPPORTED_OS.get(f.os.id)
        major = f.os.version_id.split(".")[0]
        supported = versions is not None and (not versions or f.os.version_id in versions or major in versions)
        out.append(
            Finding(
                "hardware.os",
                L,
                Status.OK if supported else Status.WARN,
                f"{f.os.pretty_name}, kernel {f.kernel or 'unknown'}"
                + ("." if supported else ": not on the NVIDIA Container Toolkit's supported list."),
                None if supported else "Expect to adapt package names; Ubuntu LTS, Debian, RHEL/Rocky are supported.",
            )
        )
    if f.arch and f.arch not in SUPPORTED_ARCH:
        out.append(
            Finding(
                "hardware.arch",
                L,
                Status.FAIL,
                f"CPU architecture {f.arch} has no NVIDIA Linux driver.",
                "Use an x86_64 or aarch64 machine.",
            )
        )
    return out


def _firmware(f: HardwareFacts) -> list[Finding]:
    out = []
    signed_and_loaded = any(d.driver == "nvidia" for d in f.nvidia_gpus)  # the kernel took the module
    if f.secure_boot and signed_and_loaded:
        out.append(
            Finding(
                "hardware.secure-boot",
                L,
                Status.OK,
                "Secure Boot is on and the NVIDIA kernel module is loaded: its signature is trusted.",
                None,
                ("mokutil --sb-state: SecureBoot enabled",),
            )
        )
    elif f.secure_boot:
        out.append(
            Finding(
                "hardware.secure-boot",
                L,
                Status.WARN,
                "Secure Boot is on: the NVIDIA kernel module must be signed by a key the firmware trusts.",
                "Use the distribution's pre-signed modules, or enrol a MOK (mokutil --import) before the reboot.",
                ("mokutil --sb-state: SecureBoot enabled",),
            )
        )
    bars = bar_faults(f)
    if bars:
        in_vm = f.virtualization not in (None, "none")
        which = bars[0].get("bar") or "BAR"
        out.append(
            Finding(
                "hardware.bar1",
                L,
                Status.FAIL,
                f"The GPU's {which} memory window got no usable address space"
                + (f" in this {f.virtualization} VM" if in_vm else "")
                + ", so the driver cannot initialise it.",
                "On the VM host: add kernel parameter pci=realloc and enable 64-bit MMIO / Above 4G decoding, then reboot."
                if in_vm
                else "Enable 'Above 4G decoding' in the firmware, or boot with pci=realloc.",
                tuple(
                    f"{b.line} {b.get('bar')} is {b.get('size')} @ {b.get('address')} (PCI:{b.get('pci')})"
                    if b.get("size")
                    else b.line
                    for b in bars[:3]
                ),
            )
        )
    out += _kernel_faults(f)
    return out


def _kernel_faults(f: HardwareFacts) -> list[Finding]:
    """Kernel log lines that name a hardware-side fault (the driver's own faults are the driver layer's)."""
    out = []
    fallen = once(f.faults(FALLEN_OFF_BUS))
    if fallen:
        out.append(
            Finding(
                "hardware.fallen-off-bus",
                L,
                Status.FAIL,
                "A GPU fell off the PCIe bus (Xid 79): it stopped answering the host.",
                "Check power cables and PSU headroom, cooling and the slot/riser; reseat the card; a reboot brings it back.",
                tuple(x.line for x in fallen[:3]),
            )
        )
    # "not supported by the NNN driver release" is the driver layer's (driver.unsupported-gpu): it names the branch
    out += _xid_findings(f)
    return out


# Row 29, the hardware's side (the application's, GSP and timeout Xids are the driver layer's findings).
_XID_FIXES = {
    MEMORY: (
        "hardware.xid-memory",
        "Reset the GPU when it is idle (nvidia-smi -r -i N) or reboot, so the bad row is remapped or the page retired; "
        "check nvidia-smi -q -d ROW_REMAPPER,PAGE_RETIREMENT — if it keeps happening or remapping failed, RMA the card.",
    ),
    NVLINK: (
        "hardware.xid-nvlink",
        "Check the NVLink bridges / NVSwitch trays and that nvidia-fabricmanager runs with the driver's version "
        "(systemctl status nvidia-fabricmanager); reset the GPUs or reboot; if it recurs, ask the vendor.",
    ),
    OTHER: ("hardware.xid", "Look the number up in NVIDIA's Xid catalogue (docs.nvidia.com/deploy/xid-errors)."),
}


def _xid_findings(f: HardwareFacts) -> list[Finding]:
    grouped: dict[str, list[KernelFault]] = {}
    for x in xid_faults(f):
        kind = xid_info(x.get("xid") or "").kind
        if kind in _XID_FIXES:
            grouped.setdefault(kind, []).append(x)
    out = []
    for kind, faults in grouped.items():
        finding_id, fix = _XID_FIXES[kind]
        infos = {xid_info(x.get("xid") or ""): None for x in faults}
        severe = any(i.severe for i in infos)
        gpus = ", ".join(sorted({x.get("pci") or "?" for x in faults}))
        out.append(
            Finding(
                finding_id,
                L,
                Status.FAIL if severe and kind != OTHER else Status.WARN,
                "Xid "
                + ", ".join(f"{i.code} ({i.meaning})" for i in sorted(infos, key=lambda i: i.code))
                + f" on {gpus}.",
                fix,
                tuple(x.line for x in faults[:3]),
            )
        )
    return out
