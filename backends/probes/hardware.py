"""Hardware facts: the PCI display devices, OS, kernel, Secure Boot, virtualisation, kernel log."""

from __future__ import annotations

import posixpath
import re

from ..facts import HardwareFacts, PciDevice
from ..host import Host
from ..parsers import parse_lspci_nn, parse_mokutil_sb_state, parse_os_release

PCI_DEVICES = "/sys/bus/pci/devices"
DISPLAY_CLASS_PREFIX = "0x03"
KERNEL_LOG_PATTERN = re.compile(r"NVRM|nvidia|nouveau|nova_core", re.IGNORECASE)


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
    nvidia = [d for d in devices if d.is_nvidia]
    if devices and host.which("lspci"):
        names = parse_lspci_nn(host.run(["lspci", "-nn"]).stdout)
        devices = [PciDevice(**{**d.__dict__, "name": names.get(d.address)}) for d in devices]
        nvidia = [d for d in devices if d.is_nvidia]

    secure_boot = None
    virt = None
    kernel_log: tuple[str, ...] = ()
    if nvidia:
        if host.which("mokutil"):
            sb = host.run(["mokutil", "--sb-state"])
            secure_boot = parse_mokutil_sb_state(sb.stdout + sb.stderr)
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
    )
