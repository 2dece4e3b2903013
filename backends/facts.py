"""Facts: what the probes read, as frozen data. Probes fill them; nothing here reads the machine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpuwiz.backends.driver_outputs import (
    DkmsMakeLog,
    DkmsModule,
    KernelFault,
    NvidiaDetectResult,
    UbuntuDriversDevice,
)
from gpuwiz.backends.gpu_catalog import GpuModel
from gpuwiz.backends.gpu_records import NvmlRecord

NVIDIA_VENDOR = "10de"


@dataclass(frozen=True)
class OsInfo:
    id: str
    version_id: str
    pretty_name: str
    id_like: tuple[str, ...] = ()
    codename: str = ""  # VERSION_CODENAME: jammy, bookworm


@dataclass(frozen=True)
class PciDevice:
    address: str  # 0000:2f:00.0
    vendor_id: str  # 10de
    device_id: str  # 2504
    class_code: str  # 0300 (VGA), 0302 (3D controller)
    driver: str | None  # the kernel driver bound to it: nvidia, nouveau, vfio-pci, None
    name: str | None = None  # lspci's description
    model: GpuModel | None = None  # NVIDIA devices: chip, architecture, compute capability; None: unknown

    @property
    def is_nvidia(self) -> bool:
        return self.vendor_id == NVIDIA_VENDOR

    @property
    def pci_id(self) -> str:
        return f"{self.vendor_id}:{self.device_id}"


@dataclass(frozen=True)
class HardwareFacts:
    os: OsInfo | None
    kernel: str | None
    arch: str | None
    nvidia_gpus: tuple[PciDevice, ...]
    other_display: tuple[PciDevice, ...]
    secure_boot: bool | None  # None: unknown (no mokutil, not EFI)
    virtualization: str | None  # systemd-detect-virt: "none", "kvm", …; None: unknown
    kernel_log: tuple[str, ...]  # kernel lines that mention NVRM / nvidia / nouveau
    kernel_faults: tuple[KernelFault, ...] = ()  # known faults recognised in those lines

    def faults(self, *kinds: str) -> tuple[KernelFault, ...]:
        return tuple(f for f in self.kernel_faults if f.kind in kinds)


# dpkg's ${db:Status-Abbrev} second letter: the package's current state
_DPKG_STATES = {
    "n": "not-installed",
    "c": "config-files",
    "H": "half-installed",
    "U": "unpacked",
    "F": "half-configured",
    "W": "triggers-awaiting",
    "t": "triggers-pending",
    "i": "installed",
}


def dpkg_state(abbrev: str) -> str:
    """ "iF " -> "half-configured", "ii " -> "installed", "rc " -> "config-files"; "unknown" for anything else."""
    return _DPKG_STATES.get(abbrev[1:2], "unknown") if len(abbrev) >= 2 else "unknown"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    status: str  # dpkg's db:Status-Abbrev ("ii ", "hi ", "rc ") or "installed" for rpm

    @property
    def installed(self) -> bool:
        return self.status.startswith(("ii", "hi", "installed"))

    @property
    def state(self) -> str:
        """dpkg's package state in words (installed, half-configured, unpacked, config-files, …)."""
        return "installed" if self.status == "installed" else dpkg_state(self.status)

    @property
    def broken(self) -> bool:
        """On disk but not configured: a failed maintainer script (DKMS build) left it half-done."""
        return self.state in ("half-configured", "unpacked", "half-installed", "triggers-awaiting")


@dataclass(frozen=True)
class DriverFacts:
    loaded_modules: tuple[str, ...]  # of interest: nvidia*, nouveau, nova_core
    kernel_module_version: str | None  # from /proc/driver/nvidia/version
    device_nodes: tuple[str, ...]  # /dev/nvidia0, /dev/nvidiactl, … that exist
    nvml: NvmlRecord
    nvidia_smi_rc: int | None  # None: nvidia-smi is not installed
    nvidia_smi_output: str
    packages: tuple[Package, ...]  # driver packages (dpkg or rpm)
    held_packages: tuple[str, ...]
    run_installer: bool  # /usr/bin/nvidia-uninstall exists: a .run install
    module_flavour: str | None = None  # "open" or "proprietary" (loaded module, else packages); None: none
    dkms: tuple[DkmsModule, ...] | None = None  # `dkms status`; None: dkms not installed
    headers_present: bool | None = None  # /lib/modules/<running kernel>/build exists
    mok_enrolled: bool | None = None  # the DKMS signing key (MOK) is enrolled; None: no MOK or unknown
    mok_path: str | None = None
    ubuntu_drivers: tuple[UbuntuDriversDevice, ...] | None = None  # `ubuntu-drivers devices` (Ubuntu, no driver yet)
    nvidia_detect: NvidiaDetectResult | None = None  # Debian's `nvidia-detect` (no driver yet)
    default_target: str | None = None  # `systemctl get-default`: multi-user.target = a headless node
    apt_sources: tuple[tuple[str, str], ...] = ()  # (path, text) of apt's source files, for the planner
    unattended_blacklist: str | None = None  # gpuwiz's unattended-upgrades blacklist file, if written
    dnf_repos: tuple[tuple[str, str], ...] = ()  # (path, text) of /etc/yum.repos.d/*.repo, for the planner
    dkms_logs: tuple[DkmsMakeLog, ...] = ()  # make.log of nvidia DKMS builds that left no module for this kernel
    apt_term_errors: tuple[str, ...] = ()  # DKMS/dpkg error lines of /var/log/apt/term.log's last run
    module_signer: str | None = None  # `modinfo -F signer nvidia`: "" unsigned; None: no module or no modinfo
    signing_keys: tuple[str, ...] = ()  # the DKMS/MOK signing certificates that exist on this machine
    source: str | None = None  # where a driver without packages comes from: run-file, container, talos, nixos
    source_evidence: tuple[str, ...] = ()  # the paths that say so
    firmware_files: tuple[str, ...] = ()  # /lib/firmware/nvidia/<module version>/gsp_*.bin that exist
    other_kernels: tuple[str, ...] = ()  # kernels with a DKMS-installed nvidia module, not the running one


@dataclass(frozen=True)
class ToolkitFacts:
    ctk_path: str | None
    ctk_version: str | None
    cli_path: str | None  # nvidia-container-cli
    runtime_path: str | None  # nvidia-container-runtime
    packages: tuple[Package, ...]
    nvidia_sources: tuple[str, ...]  # apt/yum source files that mention nvidia.github.io
    libnvidia_ml_cached: bool | None  # ldconfig -p lists libnvidia-ml.so.1; None: unknown
    keyring: str | None = None  # NVIDIA's toolkit keyring: "ok", "other", "unreadable"; None: not there
    outdated_sources: tuple[str, ...] = ()  # source files with URLs of older install guides (404 now)


@dataclass(frozen=True)
class DockerFacts:
    version: str | None
    config_path: str
    config_exists: bool
    config_error: str | None
    runtimes: tuple[str, ...]  # from daemon.json
    default_runtime: str | None
    cdi: bool
    service: str | None  # systemctl is-active
    daemon_runtimes: tuple[str, ...] | None  # from `docker info`; None: daemon not reachable
    started_before_hook: bool | None = None  # dockerd started before nvidia-container-runtime-hook appeared
    config_how: str = ""  # which command line names config_path ("" : docker's default for this install)
    other_configs: tuple[str, ...] = ()  # files other running dockerds read
    restarted_after_edit: bool | None = None  # dockerd (re)started after config_path last changed
    unit_drop_ins: tuple[str, ...] = ()  # systemd drop-ins of docker.service (one may override ExecStart)
    unread_nvidia_configs: tuple[str, ...] = ()  # daemon.json files naming nvidia that this dockerd does not read


@dataclass(frozen=True)
class ContainerdFacts:
    flavour: str  # containerd, k3s, rke2, microk8s
    version: str | None
    config_path: str
    config_exists: bool
    config_error: str | None
    config_version: int | None
    runtimes: tuple[str, ...]
    default_runtime: str | None
    cri_disabled: bool
    service: str | None
    systemd_cgroup: tuple[tuple[str, bool], ...] = ()  # runtime → options.SystemdCgroup, where set
    cdi: bool | None = None  # the CRI plugin's enable_cdi; None: not set (containerd's default)
    config_how: str = ""  # which command line names config_path ("": containerd's default file)
    other_configs: tuple[str, ...] = ()  # files other running containerds read
    effective_from: str = ""  # "containerd config dump" when the runtimes come from the daemon's own merge
    unread_nvidia_configs: tuple[str, ...] = ()  # k3s/RKE2: a plain containerd's files naming nvidia (row 33)


@dataclass(frozen=True)
class CrioFacts:
    version: str | None
    config_files: tuple[str, ...]
    runtimes: tuple[str, ...]
    service: str | None
    unread_dropins: tuple[str, ...] = ()  # in /etc/crio/conf.d, which CRI-O does not read


@dataclass(frozen=True)
class RuntimeFacts:
    docker: DockerFacts | None
    containerd: ContainerdFacts | None
    crio: CrioFacts | None
    podman: str | None  # path
    nerdctl: str | None = None  # path: containerd's docker-like CLI (--gpus)
    cgroup_v2: bool | None = None  # /sys/fs/cgroup is the unified hierarchy
    selinux: str | None = None  # `getenforce`: Enforcing, Permissive, Disabled; None: no SELinux tools
    config_view: Any = None  # file_view.FileView: the config files `runtime configure` reads, for the planner
    cdi_specs: tuple[str, ...] = ()  # NVIDIA CDI specs in /etc/cdi and /var/run/cdi (nvidia-ctk cdi generate)


@dataclass(frozen=True)
class NodeInfo:
    name: str
    ready: bool
    gpu_capacity: int
    gpu_allocatable: int
    labels: tuple[tuple[str, str], ...] = ()
    taints: tuple[str, ...] = ()  # "key=value:Effect"


@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    phase: str  # Pending, Running, Succeeded, Failed, Unknown
    ready: bool
    restarts: int
    runtime_class: str | None  # spec.runtimeClassName


@dataclass(frozen=True)
class K8sFacts:
    flavour: str | None  # kubeadm, k3s, rke2, microk8s; None: not a cluster node
    kubectl_path: str | None
    helm_path: str | None
    kubeconfig: str | None
    api_error: str | None  # None: the API answered (or was not asked)
    node_name: str | None
    nodes: tuple[NodeInfo, ...]
    runtime_class_nvidia: bool | None
    device_plugin: str | None  # namespace/name of the device plugin DaemonSet
    gpu_operator: str | None  # namespace of the GPU Operator
    kubectl: tuple[str, ...] = ()  # the kubectl argv prefix that reached the API (k3s kubectl, --kubeconfig …)
    plugin_pods: tuple[PodInfo, ...] = ()  # the device plugin's pods on this node
    plugin_log: tuple[str, ...] = ()  # the tail of a failing plugin pod's log
    operator_validator: PodInfo | None = None  # the GPU Operator's validator pod on this node
    sandbox_errors: tuple[str, ...] = ()  # FailedCreatePodSandBox event messages (DIAGNOSTICS row 21)
    kubelet_cgroup_driver: str | None = None  # cgroupDriver of the kubelet's config: systemd | cgroupfs
    gpuwiz_releases: tuple[tuple[str, str], ...] = ()  # (namespace, name) of helm releases gpuwiz installed
    helm_version: str | None = None  # `helm version --short` without its commit: "v3.14.2"
    runtime_class_by_gpuwiz: bool = False  # the RuntimeClass nvidia carries gpuwiz's label
    refused: tuple[
        tuple[str, str], ...
    ] = ()  # (resource, kubectl's Forbidden line): what these credentials may not read


@dataclass(frozen=True)
class MachineFacts:
    hardware: HardwareFacts
    driver: DriverFacts | None = None
    toolkit: ToolkitFacts | None = None
    runtime: RuntimeFacts | None = None
    k8s: K8sFacts | None = None
