"""What made this node what it is, as the choices that would make the next node alike.

The answers file a node saves records it (runs/answers.py), and the planner treats a selection
equal to it as asking for no change (planners/registry.py).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gpuwiz.backends.doctor import DoctorReport


def same_state(report: DoctorReport) -> dict[str, str]:
    """What made this node what it is, as choices for the next one: how its driver was installed
    (method, edition, branch, module flavour), the toolkit version, the runtime it runs and how
    that is set up (default runtime, CDI, containerd config mode), the cluster's GPU stack and taint."""
    f = report.facts
    out: dict[str, str] = {}
    driver = f.driver
    version = driver.kernel_module_version if driver else None
    if version and re.match(r"\d+\.", version):
        out["driver.branch"] = version.split(".", 1)[0]
    else:  # the module is not loaded (a fault on this node): the installed packages say the branch
        for p in driver.packages if driver else ():
            m = re.fullmatch(r"(?:nvidia-driver|cuda-drivers|libnvidia-compute)-(\d{3})(?:-.*)?", p.name)
            if m and p.installed:
                out["driver.branch"] = m.group(1)
                break
    if driver and driver.module_flavour in ("open", "proprietary"):
        out["driver.flavour"] = driver.module_flavour
    out.update(_driver_install(driver))
    toolkit = f.toolkit
    installed = [
        p for p in (toolkit.packages if toolkit else ()) if p.installed and p.name == "nvidia-container-toolkit"
    ]
    if installed:
        out["toolkit.version"] = installed[0].version
    runtime = f.runtime
    k8s = f.k8s
    in_cluster = k8s is not None and k8s.flavour is not None
    if runtime is not None:
        containerd = runtime.containerd if runtime.containerd and runtime.containerd.flavour == "containerd" else None
        # a cluster node's runtime is the one its kubelet talks to; a workstation's is Docker
        engine = (containerd or runtime.docker) if in_cluster else (runtime.docker or containerd)
        if runtime.containerd is not None and runtime.containerd.flavour in ("k3s", "rke2") and in_cluster:
            out["runtime.install"] = "none"  # the next node gets containerd with k3s/RKE2 itself
        elif engine is runtime.docker and engine is not None:
            out["runtime.install"] = "docker-ce" if _docker_ce(report) else "docker"
        elif engine is not None:
            out["runtime.install"] = "containerd"
        elif runtime.podman and not runtime.crio:
            out["runtime.install"] = "podman"
        if engine is not None:
            if engine.cdi is not None:
                out["runtime.cdi"] = "yes" if engine.cdi else "no"
            out["runtime.default"] = "yes" if engine.default_runtime == "nvidia" else "no"
        if containerd is not None and "nvidia" in containerd.runtimes:
            out["runtime.containerd-config"] = "drop-in" if _nvidia_drop_in(runtime) else "in-place"
    if k8s is not None and (k8s.device_plugin or k8s.gpu_operator):
        out["k8s.stack"] = "gpu-operator" if k8s.gpu_operator else "device-plugin"
    node = next((n for n in (k8s.nodes if k8s else ()) if n.name.lower() == (k8s.node_name or "")), None)
    if node is not None:
        out["k8s.taint"] = "yes" if any(t.startswith("nvidia.com/gpu") for t in node.taints) else "no"
    return out


def _driver_install(driver) -> dict[str, str]:
    """driver.method (and on Ubuntu driver.edition) from the installed driver packages."""
    names = {p.name: p.version for p in (driver.packages if driver else ()) if p.installed}
    if not names:
        return {}
    if any(n == "cuda-drivers" or n.startswith(("cuda-drivers-", "nvidia-driver-cuda")) for n in names):
        return {"driver.method": "cuda-repo"}
    ubuntu = {n: v for n, v in names.items() if re.fullmatch(r"nvidia-driver-\d+(-open)?(-server)?(-open)?", n)}
    if ubuntu:
        name = next(iter(ubuntu))
        out = {"driver.method": "ubuntu-drivers" if "ubuntu" in ubuntu[name] else "cuda-repo"}
        if "ubuntu" in ubuntu[name]:
            out["driver.edition"] = "server" if "-server" in name else "desktop"
        return out
    if "nvidia-driver" in names or "nvidia-kernel-dkms" in names:
        return {"driver.method": "distro"}
    return {}


def _docker_ce(report: DoctorReport) -> bool:
    """Docker from Docker's own repository (docker-ce), not the distribution's docker.io."""
    from gpuwiz.backends.packages.docker_repo import APT_LIST

    driver = report.facts.driver
    sources = dict(driver.apt_sources) if driver else {}
    repos = dict(driver.dnf_repos) if driver else {}
    return APT_LIST in sources or any("download.docker.com" in text for text in (*sources.values(), *repos.values()))


def _nvidia_drop_in(runtime) -> bool:
    view = runtime.config_view
    files = dict(view.files) if view is not None else {}
    return any(p.startswith("/etc/containerd/conf.d/") and "nvidia" in text for p, text in files.items())
