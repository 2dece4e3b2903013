"""Kubernetes checks: cluster reachable, RuntimeClass, device plugin or operator, GPUs allocatable."""

from __future__ import annotations

from ..facts import K8sFacts
from ..findings import Finding, Layer, Status

L = Layer.K8S


def check_k8s(f: K8sFacts) -> list[Finding]:
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
    if f.runtime_class_nvidia is False:
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
    if f.device_plugin or f.gpu_operator:
        what = f"device plugin {f.device_plugin}" if f.device_plugin else f"GPU Operator in {f.gpu_operator}"
        out.append(Finding("k8s.device-plugin", L, Status.OK, f"The NVIDIA {what} is deployed."))
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
