"""Driver facts: kernel modules, the loaded module's version, device nodes, NVML, packages."""

from __future__ import annotations

from ..facts import DriverFacts, Package
from ..host import Host
from ..nvml import read_nvml
from ..parsers import parse_proc_driver_version, parse_proc_modules
from .packages import is_driver_package

MODULES_OF_INTEREST = ("nvidia", "nvidia_uvm", "nvidia_drm", "nvidia_modeset", "nouveau", "nova_core")
DEVICE_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/nvidia-uvm")


def probe_driver(host: Host, packages: tuple[Package, ...]) -> DriverFacts:
    modules = parse_proc_modules(host.read_text("/proc/modules") or "")
    version_text = host.read_text("/proc/driver/nvidia/version")

    smi_rc = None
    smi_out = ""
    if host.which("nvidia-smi"):
        smi = host.run(["nvidia-smi", "-L"], timeout=20)
        smi_rc, smi_out = smi.returncode, (smi.stdout + smi.stderr).strip()

    held: tuple[str, ...] = ()
    if host.which("apt-mark"):
        held = tuple(host.run(["apt-mark", "showhold"]).stdout.split())

    nvml = read_nvml(host.nvml(), with_processes=False)
    return DriverFacts(
        loaded_modules=tuple(m for m in MODULES_OF_INTEREST if m in modules),
        kernel_module_version=parse_proc_driver_version(version_text) if version_text else None,
        device_nodes=tuple(p for p in DEVICE_NODES if host.exists(p)),
        nvml=nvml,
        nvidia_smi_rc=smi_rc,
        nvidia_smi_output=smi_out,
        packages=tuple(p for p in packages if is_driver_package(p.name)),
        held_packages=held,
        run_installer=host.exists("/usr/bin/nvidia-uninstall"),
    )
