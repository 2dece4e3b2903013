"""What each layer's facts say, as (label, value) rows for the screens. Pure: no textual."""

from __future__ import annotations

from gpuwiz.backends.facts import MachineFacts, PciDevice
from gpuwiz.backends.findings import Layer
from gpuwiz.backends.gpu_records import cuda_version_text

Row = tuple[str, str]


def _yes(value: bool | None, yes: str = "yes", no: str = "no") -> str:
    return "unknown" if value is None else (yes if value else no)


def _gpu_model(gpu: PciDevice) -> str:
    m = gpu.model
    if m is None:
        return "unknown NVIDIA device"
    return (
        f"{m.name or m.chip} ({m.chip}, {m.architecture or 'unknown architecture'}, CC {m.compute_capability or '?'})"
    )


def hardware_rows(f: MachineFacts) -> list[Row]:
    hw = f.hardware
    rows: list[Row] = []
    if hw.os:
        rows.append(("System", hw.os.pretty_name))
    rows.append(("Kernel", f"{hw.kernel or 'unknown'} ({hw.arch or '?'})"))
    if not hw.nvidia_gpus:
        rows.append(("NVIDIA GPUs", "none"))
    for n, gpu in enumerate(hw.nvidia_gpus):
        rows.append((f"GPU {n}", f"{_gpu_model(gpu)} [{gpu.pci_id}] at {gpu.address}, driver {gpu.driver or 'none'}"))
    for dev in hw.other_display:
        rows.append(("Other display", f"{dev.name or dev.pci_id} at {dev.address}, driver {dev.driver or 'none'}"))
    if hw.nvidia_gpus:
        rows.append(("Secure Boot", _yes(hw.secure_boot, "enabled", "disabled")))
        rows.append(("Virtualisation", hw.virtualization or "unknown"))
    return rows


def driver_rows(f: MachineFacts) -> list[Row]:
    d = f.driver
    if d is None:
        return []
    nvml = d.nvml
    rows: list[Row] = [
        ("Kernel modules", ", ".join(d.loaded_modules) or "none of nvidia/nouveau"),
        ("Loaded module", d.kernel_module_version or "no /proc/driver/nvidia/version"),
        (
            "NVML",
            nvml.init_error
            or f"driver {nvml.driver_version}, CUDA {cuda_version_text(nvml.cuda_driver_version) or '?'}",
        ),
        ("Device nodes", ", ".join(d.device_nodes) or "none"),
        (
            "Packages",
            ", ".join(f"{p.name} {p.version}" for p in d.packages[:4]) + (" …" if len(d.packages) > 4 else "")
            or "none",
        ),
        ("Held", ", ".join(d.held_packages) or "none"),
    ]
    if d.nvidia_smi_rc is not None:
        rows.append(("nvidia-smi", "works" if d.nvidia_smi_rc == 0 else f"exit {d.nvidia_smi_rc}"))
    if d.module_flavour:
        rows.append(("Module flavour", d.module_flavour))
    if d.dkms is not None:
        built = [
            f"{m.module} {m.version} for {m.kernel or '?'}: {m.state}" for m in d.dkms if m.module.startswith("nvidia")
        ]
        rows.append(("DKMS", "; ".join(built) or "no nvidia module"))
    if d.headers_present is not None and f.hardware.kernel:
        rows.append(("Kernel headers", f"{f.hardware.kernel}: {'installed' if d.headers_present else 'missing'}"))
    if d.mok_path:
        rows.append(("Secure Boot key", f"{d.mok_path}: {_yes(d.mok_enrolled, 'enrolled', 'NOT enrolled')}"))
    recommended = [dev.recommended.package for dev in d.ubuntu_drivers or () if dev.recommended]
    if recommended:
        rows.append(("Ubuntu recommends", ", ".join(dict.fromkeys(recommended))))
    if d.nvidia_detect and d.nvidia_detect.packages:
        rows.append(("nvidia-detect", ", ".join(d.nvidia_detect.packages)))
    return rows


def toolkit_rows(f: MachineFacts) -> list[Row]:
    t = f.toolkit
    if t is None:
        return []
    return [
        ("nvidia-ctk", f"{t.ctk_version or '?'} ({t.ctk_path})" if t.ctk_path else "not installed"),
        ("Packages", ", ".join(f"{p.name} {p.version}" for p in t.packages) or "none"),
        ("Repository", ", ".join(t.nvidia_sources) or "not configured"),
        ("libnvidia-ml.so.1", _yes(t.libnvidia_ml_cached, "in the linker cache", "missing")),
    ]


def runtime_rows(f: MachineFacts) -> list[Row]:
    r = f.runtime
    if r is None:
        return []
    rows: list[Row] = []
    if r.docker:
        d = r.docker
        rows.append(
            (
                "docker",
                f"{d.version or '?'} ({d.service or 'service ?'}), runtimes: {', '.join(d.runtimes) or 'default only'}",
            )
        )
    if r.containerd:
        c = r.containerd
        rows.append(
            (
                c.flavour,
                f"{c.version or '?'} ({c.service or 'service ?'}), config v{c.config_version or '?'}, runtimes: {', '.join(c.runtimes) or 'none'}",
            )
        )
    if r.crio:
        rows.append(("CRI-O", f"{r.crio.version or '?'}, runtimes: {', '.join(r.crio.runtimes) or 'none'}"))
    if r.podman:
        rows.append(("podman", r.podman))
    return rows or [("Runtimes", "none installed")]


def k8s_rows(f: MachineFacts) -> list[Row]:
    k = f.k8s
    if k is None:
        return []
    if k.flavour is None:
        return [("Cluster", "not a Kubernetes node")]
    rows: list[Row] = [
        ("Flavour", k.flavour),
        ("kubectl", k.kubectl_path or "not installed"),
        ("helm", k.helm_path or "not installed"),
        ("Kubeconfig", k.kubeconfig or "none found"),
    ]
    if k.api_error:
        rows.append(("API", k.api_error))
        return rows
    rows.append(("This node", k.node_name or "not found by hostname"))
    for node in k.nodes[:6]:
        rows.append(
            (
                f"· {node.name}",
                f"{'Ready' if node.ready else 'NotReady'}, nvidia.com/gpu {node.gpu_allocatable}/{node.gpu_capacity}",
            )
        )
    rows.append(("RuntimeClass", _yes(k.runtime_class_nvidia, "nvidia", "none")))
    rows.append(
        ("GPU software", k.device_plugin or (f"GPU Operator in {k.gpu_operator}" if k.gpu_operator else "none"))
    )
    for pod in k.plugin_pods[:2]:
        state = "ready" if pod.ready else "not ready"
        restarts = f", {pod.restarts} restarts" if pod.restarts else ""
        rows.append(("Plugin pod", f"{pod.name}: {pod.phase}, {state}{restarts}"))
    return rows


ROWS = {
    Layer.HARDWARE: hardware_rows,
    Layer.DRIVER: driver_rows,
    Layer.TOOLKIT: toolkit_rows,
    Layer.RUNTIME: runtime_rows,
    Layer.K8S: k8s_rows,
}


def layer_rows(facts: MachineFacts, layer: Layer) -> list[Row]:
    return ROWS[layer](facts)
