"""Hardware facts: the PCI display devices, OS, kernel, Secure Boot, virtualisation, kernel log."""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace

from gpuwiz.backends.driver_outputs import classify_kernel_log, parse_secure_boot_efivar
from gpuwiz.backends.facts import HardwareFacts, PciDevice
from gpuwiz.backends.gpu_catalog import (
    COMPUTE_CAPABILITY,
    GpuModel,
    architecture_of,
    base_chip,
    lookup,
    split_device_name,
)
from gpuwiz.backends.machine.host import Host
from gpuwiz.backends.parsers import parse_lspci_nn, parse_mokutil_sb_state, parse_os_release

PCI_DEVICES = "/sys/bus/pci/devices"
DISPLAY_CLASS_PREFIX = "0x03"
SECURE_BOOT_EFIVAR = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
PCI_IDS_FILES = ("/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids")
# NVIDIA's own lines, plus the kernel's Secure Boot refusals that do not name the module
KERNEL_LOG_PATTERN = re.compile(
    r"NVRM|nvidia|nouveau|nova_core|NovaCore|unavailable key|unsigned module|Key was rejected|required key",
    re.IGNORECASE,
)


def _hex(text: str | None) -> str:
    return (text or "").strip().lower().removeprefix("0x")


def read_pci_display_devices(host: Host) -> list[PciDevice]:
    devices = []
    for address in host.list_dir(PCI_DEVICES):
        base = f"{PCI_DEVICES}/{address}"
        cls = (host.read_text(f"{base}/class") or "").strip().lower()
        if not cls.startswith(DISPLAY_CLASS_PREFIX):
            continue
        link = host.readlink(f"{base}/driver")
        devices.append(
            PciDevice(
                address=address.lower(),
                vendor_id=_hex(host.read_text(f"{base}/vendor")),
                device_id=_hex(host.read_text(f"{base}/device")),
                class_code=_hex(cls)[:4],
                driver=posixpath.basename(link) if link else None,
            )
        )
    return devices


def gpu_model(device: PciDevice, system_pci_ids: str | None) -> GpuModel | None:
    """lspci's name when it names the chip (it reads the system's pci.ids), else pci.ids, else our table."""
    if device.name:
        chip, name = split_device_name(device.name.removeprefix("NVIDIA Corporation").strip())
        if chip and architecture_of(chip):
            return GpuModel(
                device.device_id, chip, name, architecture_of(chip), COMPUTE_CAPABILITY.get(base_chip(chip), "")
            )
    return lookup(device.device_id, system_pci_ids)


def read_kernel_log(host: Host) -> tuple[str, ...]:
    result = host.run(["dmesg"])
    if not result.ok:  # dmesg_restrict: the journal may still be readable
        result = host.run(["journalctl", "-k", "-b", "--no-pager", "-q"])
    if not result.ok:
        return ()
    return tuple(line for line in result.stdout.splitlines() if KERNEL_LOG_PATTERN.search(line))


def probe_hardware(host: Host) -> HardwareFacts:
    os_text = host.read_text("/etc/os-release") or host.read_text("/usr/lib/os-release")
    uname = host.run(["uname", "-r", "-m"])
    kernel, arch = (uname.stdout.split() + [None, None])[:2] if uname.ok else (None, None)

    devices = read_pci_display_devices(host)
    has_lspci = bool(devices) and host.which("lspci") is not None
    if has_lspci:
        names = parse_lspci_nn(host.run(["lspci", "-nn"]).stdout)
        devices = [replace(d, name=names.get(d.address)) for d in devices]
    if any(d.is_nvidia for d in devices):
        # without lspci, read the system's pci.ids ourselves (newer than our table on a newer system)
        pci_ids = None if has_lspci else next(filter(None, map(host.read_text, PCI_IDS_FILES)), None)
        devices = [replace(d, model=gpu_model(d, pci_ids)) if d.is_nvidia else d for d in devices]
    nvidia = [d for d in devices if d.is_nvidia]

    secure_boot = None
    virt = None
    kernel_log: tuple[str, ...] = ()
    if nvidia:
        if host.which("mokutil"):
            sb = host.run(["mokutil", "--sb-state"])
            secure_boot = parse_mokutil_sb_state(sb.stdout + sb.stderr)
        else:  # efivarfs: 4 attribute bytes + the value, all below 0x80 so text survives the read
            raw = host.read_text(SECURE_BOOT_EFIVAR)
            secure_boot = parse_secure_boot_efivar(raw.encode("latin-1", "replace")) if raw is not None else None
        if host.which("systemd-detect-virt"):
            detected = host.run(["systemd-detect-virt"])
            virt = detected.stdout.strip() or None
        kernel_log = read_kernel_log(host)

    return HardwareFacts(
        os=parse_os_release(os_text) if os_text else None,
        kernel=kernel,
        arch=arch,
        nvidia_gpus=tuple(nvidia),
        other_display=tuple(d for d in devices if not d.is_nvidia),
        secure_boot=secure_boot,
        virtualization=virt,
        kernel_log=kernel_log,
        kernel_faults=classify_kernel_log(kernel_log),
    )
