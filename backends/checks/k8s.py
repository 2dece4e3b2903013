"""Kubernetes checks: cluster reachable, RuntimeClass, device plugin or operator, GPUs allocatable.

DIAGNOSTICS.md row 26: a node is one whose kubelet runs (probes/k8s.py kubelet_argv), whatever its
flavour (kops, EKS, AKS, GKE, kubespray, Talos, else "kubelet (flavour not recognised)"): k8s.cluster.
"""

from __future__ import annotations

import re

from gpuwiz.backends.facts import K8sFacts, RuntimeFacts
from gpuwiz.backends.findings import Finding, Layer, Status

L = Layer.K8S


def check_k8s(f: K8sFacts, runtime: RuntimeFacts | None = None) -> list[Finding]:
    default = runtime.containerd.default_runtime if runtime and runtime.containerd else None
    out = _check(f, nvidia_default=default == "nvidia")
    if f.flavour is not None:
        out += _cgroup_driver(f, runtime)
        out += _helm_version(f)
    return out


HELM_LABELS_SINCE = (3, 13)  # helm install --labels arrived in helm 3.13


def helm_too_old(version: str | None) -> bool:
    """`--labels` (how gpuwiz finds its releases again) needs helm 3.13; unknown: assume new enough."""
    m = re.match(r"v?(\d+)\.(\d+)", version or "")
    return bool(m) and (int(m.group(1)), int(m.group(2))) < HELM_LABELS_SINCE


def _helm_version(f: K8sFacts) -> list[Finding]:
    if not helm_too_old(f.helm_version):
        return []
    return [
        Finding(
            "k8s.helm-version",
            L,
            Status.WARN,
            f"helm {f.helm_version} is older than 3.13: it cannot label releases (--labels), which gpuwiz uses to "
            "find the releases it installed.",
            "Upgrade helm (https://helm.sh/docs/intro/install/), then plan again.",
        )
    ]


def _cgroup_driver(f: K8sFacts, runtime: RuntimeFacts | None) -> list[Finding]:
    """kubelet and containerd must agree on the cgroup driver (SystemdCgroup), or pods are killed and restarted."""
    c = runtime.containerd if runtime else None
    if f.kubelet_cgroup_driver is None or c is None:
        return []
    systemd = dict(c.systemd_cgroup)
    runtime_name = c.default_runtime or "runc"
    runtime_systemd = systemd.get(runtime_name, systemd.get("runc"))
    if runtime_systemd is None:
        return []
    kubelet_systemd = f.kubelet_cgroup_driver == "systemd"
    if kubelet_systemd == runtime_systemd:
        return [
            Finding(
                "k8s.cgroup-driver",
                L,
                Status.OK,
                f"kubelet and containerd both use the {f.kubelet_cgroup_driver} cgroup driver.",
            )
        ]
    return [
        Finding(
            "k8s.cgroup-driver",
            L,
            Status.FAIL,
            f"kubelet uses the {f.kubelet_cgroup_driver} cgroup driver, containerd's {runtime_name} runtime "
            f"SystemdCgroup = {str(runtime_systemd).lower()}: pods get killed and restart in loops.",
            "Make them agree: SystemdCgroup = true in containerd's runc (and nvidia) options for kubelet's systemd "
            "driver, then restart containerd.",
            (
                f"kubelet cgroupDriver: {f.kubelet_cgroup_driver}",
                f"{c.config_path}: {runtime_name} SystemdCgroup = {str(runtime_systemd).lower()}",
            ),
        )
    ]


def _check(f: K8sFacts, *, nvidia_default: bool = False) -> list[Finding]:
    if f.flavour is None:
        return [
            Finding(
                "k8s.cluster",
                L,
                Status.SKIP,
                "Skipped: this machine is not a Kubernetes node (no kubeadm, k3s, RKE2 or MicroK8s).",
            )
        ]
    if f.kubectl_path is None:
        return [
            Finding(
                "k8s.kubectl",
                L,
                Status.FAIL,
                f"This is a {f.flavour} node but kubectl is not installed.",
                "Install kubectl matching the cluster's version.",
            )
        ]
    if f.api_error is not None:
        return [
            Finding(
                "k8s.api",
                L,
                Status.FAIL,
                f"The Kubernetes API does not answer: {f.api_error}",
                f"Check the kubeconfig ({f.kubeconfig or 'none found'}) and that the API server is up.",
            )
        ]
    out = [
        Finding(
            "k8s.cluster", L, Status.OK, f"{f.flavour} cluster with {len(f.nodes)} node(s) answers ({f.kubeconfig})."
        )
    ]
    if f.runtime_class_nvidia is False and nvidia_default:
        out.append(
            Finding(
                "k8s.runtimeclass",
                L,
                Status.WARN,
                "There is no RuntimeClass nvidia: pods get the nvidia runtime anyway (containerd's default runtime), "
                "but a pod that names runtimeClassName: nvidia (the GPU Operator's, a chart's) will not start.",
                "Apply a RuntimeClass nvidia (node.k8s.io/v1, handler nvidia) if a chart asks for it: see `gpuwiz plan`.",
            )
        )
    elif f.runtime_class_nvidia is False:
        out.append(
            Finding(
                "k8s.runtimeclass",
                L,
                Status.FAIL,
                "There is no RuntimeClass nvidia.",
                "Apply a RuntimeClass nvidia (node.k8s.io/v1, handler nvidia): see `gpuwiz plan`.",
            )
        )
    elif f.runtime_class_nvidia:
        out.append(Finding("k8s.runtimeclass", L, Status.OK, "RuntimeClass nvidia exists."))
    elif refused := _refused(f, "runtimeclasses"):
        out.append(
            Finding(
                "k8s.runtimeclass",
                L,
                Status.WARN,
                f"Whether the RuntimeClass nvidia exists is unknown: {f.kubeconfig} may not list runtimeclasses.",
                _admin_kubeconfig(),
                (refused,),
            )
        )
    if f.device_plugin or f.gpu_operator:
        what = f"device plugin {f.device_plugin}" if f.device_plugin else f"GPU Operator in {f.gpu_operator}"
        out.append(Finding("k8s.device-plugin", L, Status.OK, f"The NVIDIA {what} is deployed."))
    elif refused := _refused(f, "daemonsets"):
        out.append(
            Finding(
                "k8s.device-plugin",
                L,
                Status.WARN,
                f"Whether the device plugin or the GPU Operator is deployed is unknown: {f.kubeconfig} may not list "
                "daemonsets (a node's own credentials).",
                _admin_kubeconfig(),
                (refused,),
            )
        )
    else:
        out.append(
            Finding(
                "k8s.device-plugin",
                L,
                Status.FAIL,
                "Neither the NVIDIA device plugin nor the GPU Operator is deployed.",
                "Install the device plugin with runtimeClassName=nvidia: see `gpuwiz plan`.",
            )
        )
    out += _runtime_handler(f) + _plugin_pods(f) + _validator(f)
    node = next((n for n in f.nodes if n.name.lower() == (f.node_name or "")), None)
    if node is None:
        out.append(
            Finding(
                "k8s.node",
                L,
                Status.WARN,
                "This host is not one of the cluster's nodes by name.",
                "Run gpuwiz on the GPU node itself.",
            )
        )
    elif node.gpu_allocatable > 0:
        out.append(
            Finding("k8s.allocatable", L, Status.OK, f"Node {node.name} offers nvidia.com/gpu: {node.gpu_allocatable}.")
        )
    else:
        out.append(
            Finding(
                "k8s.allocatable",
                L,
                Status.FAIL,
                f"Node {node.name} offers no nvidia.com/gpu.",
                "Check the device plugin's pod on this node (nodeSelector, taints) and its logs; fix the runtime first.",
                (f"node {node.name}: allocatable nvidia.com/gpu = 0",),
            )
        )
    return out


NO_HANDLER = 'no runtime for "nvidia" is configured'
NVML_FAILURES = ("could not load NVML library", "Incompatible strategy detected", "Failed to initialize NVML")


def _runtime_handler(f: K8sFacts) -> list[Finding]:
    """Row 21: the RuntimeClass exists, this node's containerd has no nvidia handler."""
    seen = [m for m in f.sandbox_errors if NO_HANDLER in m]
    if not seen:
        return []
    return [
        Finding(
            "k8s.runtime-handler",
            L,
            Status.FAIL,
            "Pods with runtimeClassName nvidia fail to start: containerd has no nvidia runtime handler.",
            "Add the nvidia runtime where this containerd reads its config (gpuwiz runtime configure --runtime "
            "containerd; k3s/RKE2: restart them once the toolkit is installed), then restart containerd.",
            tuple(seen[:2]),
        )
    ]


def _refused(f: K8sFacts, resource: str) -> str | None:
    return next((line for what, line in f.refused if what == resource), None)


def _admin_kubeconfig() -> str:
    """A kubelet's credentials (system:node:NAME) read nodes and pods only; cluster objects need an admin's."""
    return (
        "Run gpuwiz with a kubeconfig that may read the cluster (KUBECONFIG=~/.kube/config gpuwiz doctor; on EKS "
        "`aws eks update-kubeconfig` writes one)."
    )


def _plugin_pods(f: K8sFacts) -> list[Finding]:
    """Rows 22 and 23: the plugin's pod on this node, and why it reports no GPUs."""
    if not f.device_plugin or not f.node_name:
        return []
    if not f.plugin_pods:
        return [
            Finding(
                "k8s.plugin-pod",
                L,
                Status.FAIL,
                f"The device plugin has no pod on this node ({f.node_name}): nodeSelector, affinity or a taint it "
                "does not tolerate keeps it away.",
                "Let the plugin's DaemonSet schedule here (a toleration for the node's taints, matching labels).",
            )
        ]
    bad = [line for line in f.plugin_log if any(s in line for s in NVML_FAILURES)]
    pod = f.plugin_pods[0]
    if bad:
        return [
            Finding(
                "k8s.plugin-nvml",
                L,
                Status.FAIL,
                f"The device plugin ({pod.namespace}/{pod.name}) cannot load NVML: it does not run with the nvidia "
                "runtime" + ("" if pod.runtime_class else " (its pod has no runtimeClassName)") + ".",
                "Give the plugin runtimeClassName: nvidia (helm --set runtimeClassName=nvidia) or make nvidia "
                "containerd's default runtime.",
                tuple(bad[:3]),
            )
        ]
    if not pod.ready and pod.phase == "Pending" and f.sandbox_errors:
        return [
            Finding(
                "k8s.plugin-pod",
                L,
                Status.FAIL,
                f"The device plugin's pod {pod.namespace}/{pod.name} is Pending: kubelet cannot create its sandbox.",
                "Fix the runtime first (k8s.runtime-handler); kubelet retries the pod by itself, no log exists yet.",
                f.sandbox_errors[:1],
            )
        ]
    if not pod.ready:
        return [
            Finding(
                "k8s.plugin-pod",
                L,
                Status.FAIL,
                f"The device plugin's pod {pod.namespace}/{pod.name} is {pod.phase}, not ready"
                + (f" ({pod.restarts} restarts)" if pod.restarts else "")
                + ".",
                f"Look at its log: kubectl logs -n {pod.namespace} {pod.name}",
                f.plugin_log[-3:],
            )
        ]
    return [Finding("k8s.plugin-pod", L, Status.OK, f"The device plugin's pod {pod.name} runs on this node.")]


def _validator(f: K8sFacts) -> list[Finding]:
    """The GPU Operator's own verdict: its validator pod on this node is ready once driver, toolkit, CUDA and
    the plugin passed its checks (init containers driver-, toolkit-, cuda-, plugin-validation)."""
    pod = f.operator_validator
    if not f.gpu_operator or pod is None:
        return []
    if pod.ready:
        return [
            Finding(
                "k8s.operator-validator",
                L,
                Status.OK,
                f"The GPU Operator's validator passed on this node ({pod.name}).",
            )
        ]
    return [
        Finding(
            "k8s.operator-validator",
            L,
            Status.FAIL,
            f"The GPU Operator's validator on this node ({pod.namespace}/{pod.name}) is {pod.phase}, not ready: one "
            "of its checks (driver, toolkit, CUDA, plugin) fails.",
            f"See which: kubectl describe pod -n {pod.namespace} {pod.name} (its init containers), then that "
            "container's log.",
        )
    ]
