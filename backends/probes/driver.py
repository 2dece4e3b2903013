"""Driver facts: kernel modules, the loaded module's version, device nodes, NVML, packages."""

from __future__ import annotations

from gpuwiz.backends.driver_outputs import (
    DkmsMakeLog,
    DkmsModule,
    parse_apt_term_log,
    parse_dkms_make_log,
    parse_dkms_status,
    parse_mokutil_test_key,
    parse_nvidia_detect,
    parse_ubuntu_drivers_devices,
)
from gpuwiz.backends.facts import DriverFacts, HardwareFacts, Package
from gpuwiz.backends.machine.host import Host
from gpuwiz.backends.nvml.sampler import read_nvml
from gpuwiz.backends.packages.apt import UNATTENDED_UPGRADES_PATH, read_source_files
from gpuwiz.backends.parsers import VERSIONLOCK_LIST, parse_proc_driver_version, parse_proc_modules, parse_versionlock
from gpuwiz.backends.probes.packages import is_driver_package

YUM_REPOS = "/etc/yum.repos.d"

MODULES_OF_INTEREST = ("nvidia", "nvidia_uvm", "nvidia_drm", "nvidia_modeset", "nouveau", "nova_core")
DEVICE_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/nvidia-uvm")


# Where DKMS keeps the key it signs modules with: Ubuntu (shim-signed) and Debian 12+ (dkms itself).
MOK_CERTIFICATES = ("/var/lib/shim-signed/mok/MOK.der", "/var/lib/dkms/mok.pub")
MOK_PRIVATE_KEYS = ("/var/lib/shim-signed/mok/MOK.priv", "/var/lib/dkms/mok.key")
DKMS_TREE = "/var/lib/dkms"
APT_TERM_LOG = "/var/log/apt/term.log"
# A driver without distribution packages (DIAGNOSTICS row 31): the GPU Operator's driver container mounts its
# root here on the host; NVIDIA's .run installer leaves these behind.
DRIVER_CONTAINER_ROOT = "/run/nvidia/driver"
RUN_INSTALLER_FILES = ("/usr/bin/nvidia-uninstall", "/var/log/nvidia-installer.log")


def read_dkms_logs(host: Host, kernel: str, dkms: tuple[DkmsModule, ...] | None) -> tuple[DkmsMakeLog, ...]:
    """make.log of every nvidia DKMS source tree that has no installed module for `kernel`.

    dkms 2 and 3 leave the failed build's log in <tree>/build/make.log; dkms 3 also keeps one per kernel under
    <tree>/<kernel>/<arch>/log/make.log.
    """
    built = {(m.module, m.version) for m in dkms or () if m.kernel == kernel and m.installed}
    logs = []
    for module in host.list_dir(DKMS_TREE):
        if not module.startswith("nvidia"):
            continue
        for version in host.list_dir(f"{DKMS_TREE}/{module}"):
            if not version[:1].isdigit() or (module, version) in built:
                continue
            tree = f"{DKMS_TREE}/{module}/{version}"
            candidates = [f"{tree}/{kernel}/{arch}/log/make.log" for arch in host.list_dir(f"{tree}/{kernel}")]
            for path in (*candidates, f"{tree}/build/make.log"):
                text = host.read_text(path)
                if text is None:
                    continue
                log = parse_dkms_make_log(text, path)
                if log.kernel in (None, kernel):
                    logs.append(log)
                    break
    return tuple(logs)


def driver_source(host: Host, os_id: str | None, has_packages: bool) -> tuple[str | None, tuple[str, ...]]:
    """Where a driver comes from when no package manager knows it: (source, the paths that say so)."""
    if host.exists(DRIVER_CONTAINER_ROOT):
        return "container", (DRIVER_CONTAINER_ROOT,)
    if has_packages:
        return None, ()
    if os_id in ("talos", "nixos"):
        return os_id, ("/etc/os-release",)
    found = tuple(p for p in RUN_INSTALLER_FILES if host.exists(p))
    return ("run-file", found) if found else (None, ())


def module_flavour(version_text: str | None, packages: tuple[Package, ...]) -> str | None:
    """open / proprietary: the loaded module says so; else the installed kernel-module packages."""
    if version_text:
        return "open" if "Open Kernel Module" in version_text else "proprietary"
    kernel_packages = [
        p.name
        for p in packages
        if p.name.startswith(
            ("nvidia-dkms-", "linux-modules-nvidia-", "nvidia-kernel-", "nvidia-open", "nvidia-driver-")
        )
    ]
    if not kernel_packages:
        return None
    return "open" if any("open" in name for name in kernel_packages) else "proprietary"


def read_dnf_repos(host: Host) -> tuple[tuple[str, str], ...]:
    """(path, text) of every `.repo` file dnf reads."""
    found = []
    for name in host.list_dir(YUM_REPOS):
        if name.endswith(".repo"):
            text = host.read_text(f"{YUM_REPOS}/{name}")
            if text is not None:
                found.append((f"{YUM_REPOS}/{name}", text))
    return tuple(found)


def probe_driver(host: Host, packages: tuple[Package, ...], hardware: HardwareFacts) -> DriverFacts:
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
    elif host.which("dnf"):  # dnf's counterpart of a hold: the versionlock plugin's list
        held = parse_versionlock(host.read_text(VERSIONLOCK_LIST) or "")

    dkms = parse_dkms_status(host.run(["dkms", "status"]).stdout) if host.which("dkms") else None
    headers = host.exists(f"/lib/modules/{hardware.kernel}/build") if hardware.kernel else None
    mok_path = next((p for p in MOK_CERTIFICATES if host.exists(p)), None)
    mok_enrolled = None
    if hardware.secure_boot and mok_path and host.which("mokutil"):
        mok_enrolled = parse_mokutil_test_key(host.run(["mokutil", "--test-key", mok_path]).stdout)
    driver_packages = tuple(p for p in packages if is_driver_package(p.name))
    loaded = "nvidia" in modules or version_text is not None
    dkms_logs: tuple[DkmsMakeLog, ...] = ()
    term_errors: tuple[str, ...] = ()
    if not loaded and hardware.kernel:
        dkms_logs = read_dkms_logs(host, hardware.kernel, dkms)
        if host.which("apt-get"):
            term = host.read_text(APT_TERM_LOG)
            term_errors = tuple(line for f in parse_apt_term_log(term or "") for line in f.lines)
    signer = None
    if hardware.secure_boot and not loaded and host.which("modinfo"):
        found = host.run(["modinfo", "-F", "signer", "nvidia"])
        signer = found.stdout.strip() if found.ok else None
    source, source_evidence = driver_source(
        host, hardware.os.id if hardware.os else None, bool(driver_packages) or dkms is not None
    )
    module_version = parse_proc_driver_version(version_text) if version_text else None
    firmware_version = module_version or next(
        (
            p.version.split("-")[0]
            for p in driver_packages
            if p.name.startswith(("nvidia-kernel-common", "nvidia-firmware"))
        ),
        None,
    )
    firmware_dir = f"/lib/firmware/nvidia/{firmware_version}" if firmware_version else None
    firmware = (
        tuple(f"{firmware_dir}/{n}" for n in host.list_dir(firmware_dir) if n.startswith("gsp")) if firmware_dir else ()
    )
    ubuntu_drivers = None
    default_target = None
    if hardware.os and hardware.os.id == "ubuntu" and "nvidia" not in modules and host.which("ubuntu-drivers"):
        # Ubuntu's own recommendation for these cards (slow: asked only while no driver is loaded)
        found = host.run(["ubuntu-drivers", "devices"], timeout=60)
        ubuntu_drivers = parse_ubuntu_drivers_devices(found.stdout) if found.ok else None
        if host.which("systemctl"):  # a headless node gets the -server driver variant
            default_target = host.run(["systemctl", "get-default"]).stdout.strip() or None
    nvidia_detect = None
    if hardware.os and hardware.os.id == "debian" and "nvidia" not in modules and host.which("nvidia-detect"):
        nvidia_detect = parse_nvidia_detect(host.run(["nvidia-detect"], timeout=60).stdout)
    apt_sources = tuple(read_source_files(host).items()) if host.which("apt-get") else ()
    dnf_repos = read_dnf_repos(host) if host.which("dnf") else ()
    nvml = read_nvml(host.nvml(), with_processes=False)
    return DriverFacts(
        loaded_modules=tuple(m for m in MODULES_OF_INTEREST if m in modules),
        kernel_module_version=parse_proc_driver_version(version_text) if version_text else None,
        device_nodes=tuple(p for p in DEVICE_NODES if host.exists(p)),
        nvml=nvml,
        nvidia_smi_rc=smi_rc,
        nvidia_smi_output=smi_out,
        packages=driver_packages,
        held_packages=held,
        run_installer=host.exists("/usr/bin/nvidia-uninstall"),
        module_flavour=module_flavour(version_text, driver_packages),
        dkms=dkms,
        headers_present=headers,
        mok_enrolled=mok_enrolled,
        mok_path=mok_path,
        ubuntu_drivers=ubuntu_drivers,
        nvidia_detect=nvidia_detect,
        default_target=default_target,
        apt_sources=apt_sources,
        dnf_repos=dnf_repos,
        unattended_blacklist=host.read_text(UNATTENDED_UPGRADES_PATH),
        dkms_logs=dkms_logs,
        apt_term_errors=term_errors,
        module_signer=signer,
        signing_keys=tuple(p for p in (*MOK_CERTIFICATES, *MOK_PRIVATE_KEYS) if host.exists(p)),
        source=source,
        source_evidence=source_evidence,
        firmware_files=firmware,
        other_kernels=tuple(
            dict.fromkeys(
                m.kernel
                for m in dkms or ()
                if m.module.startswith("nvidia") and m.installed and m.kernel and m.kernel != hardware.kernel
            )
        ),
    )
