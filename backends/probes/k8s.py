"""Kubernetes facts: is this a cluster node, which flavour, what the API says about GPUs."""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any, Sequence

from gpuwiz.backends.facts import K8sFacts, NodeInfo, PodInfo
from gpuwiz.backends.machine.host import Host

GPU_RESOURCE = "nvidia.com/gpu"
KUBECONFIGS = {
    "k3s": "/etc/rancher/k3s/k3s.yaml",
    "rke2": "/etc/rancher/rke2/rke2.yaml",
    "kubeadm": "/etc/kubernetes/admin.conf",
}
RKE2_KUBECTL = "/var/lib/rancher/rke2/bin/kubectl"
REQUEST_TIMEOUT = "--request-timeout=5s"


def detect_flavour(host: Host) -> str | None:
    if host.which("k3s") or host.exists(KUBECONFIGS["k3s"]):
        return "k3s"
    if host.which("rke2") or host.exists(KUBECONFIGS["rke2"]):
        return "rke2"
    if host.which("microk8s"):
        return "microk8s"
    if host.exists("/etc/kubernetes/kubelet.conf") or host.exists(KUBECONFIGS["kubeadm"]):
        return "kubeadm"
    kubelet = kubelet_argv(host)
    if kubelet is None:
        return None
    return next((name for name, marker in KUBELET_FLAVOURS if host.exists(marker)), UNRECOGNISED)


# Nodes whose kubelet runs without kubeadm's, k3s's, RKE2's or MicroK8s's files (DIAGNOSTICS row 26):
# named by a file their images or installers leave; any other kubelet is still a node.
KUBELET_FLAVOURS = (
    ("EKS", "/etc/eks/bootstrap.sh"),  # Amazon's EKS-optimised AMI
    ("AKS", "/etc/kubernetes/azure.json"),
    ("GKE", "/home/kubernetes/bin/kubelet"),  # Container-Optimized OS / GKE Ubuntu images
    ("kubespray", "/etc/kubernetes/kubelet.env"),
    ("kops", "/opt/kops/conf/kube_env.yaml"),  # nodeup's config (kops-configuration.service)
    ("Talos", "/etc/os-release.talos"),
)
UNRECOGNISED = "kubelet (flavour not recognised)"
KUBELET_ROOT = "/var/lib/kubelet"


def kubelet_argv(host: Host) -> tuple[str, ...] | None:
    """The running kubelet's command line (else its unit's ExecStart); None when no kubelet is here.

    Looked for only where kubelet's root directory or binary exists, so machines without Kubernetes
    are never asked about processes."""
    if not host.is_dir(KUBELET_ROOT) and not host.which("kubelet"):
        return None
    from gpuwiz.backends.configs.daemon_configs import running, unit_argv

    found = running(host, "kubelet")
    if found:
        return found[0][1]
    return unit_argv(host, "kubelet") or (() if host.is_dir(KUBELET_ROOT) else None)


def kubelet_kubeconfig(host: Host) -> str | None:
    """The kubeconfig the kubelet itself uses (its --kubeconfig), when it exists."""
    from gpuwiz.backends.configs.daemon_configs import flag_value

    argv = kubelet_argv(host) or ()
    for path in (flag_value(argv, ("--kubeconfig",)), f"{KUBELET_ROOT}/kubeconfig"):
        if path and host.exists(path):
            return path
    return None


def kubectl_argv(host: Host, flavour: str | None) -> list[str] | None:
    if host.which("kubectl"):
        return ["kubectl"]
    if flavour == "k3s" and host.which("k3s"):
        return ["k3s", "kubectl"]
    if flavour == "rke2" and host.which(RKE2_KUBECTL):
        return [RKE2_KUBECTL]
    if flavour == "microk8s":
        return ["microk8s", "kubectl"]
    return None


def find_kubeconfig(host: Host, flavour: str | None) -> str | None:
    env = host.env.get("KUBECONFIG")
    if env:
        return env.split(":")[0]
    home = host.env.get("HOME")
    user_config = posixpath.join(home, ".kube", "config") if home else None
    if user_config and host.exists(user_config):
        return user_config
    if flavour in KUBECONFIGS and host.exists(KUBECONFIGS[flavour]):
        return KUBECONFIGS[flavour]
    if flavour is not None and flavour not in KUBECONFIGS and flavour != "microk8s":
        return kubelet_kubeconfig(host)  # kops, EKS, …: the node's own credentials, read-only enough
    return None


MANAGED_BY = "app.kubernetes.io/managed-by"


def _gpu_labels(labels: Any) -> Any:
    return {k: v for k, v in labels.items() if "nvidia" in k or "pci-10de" in k} if isinstance(labels, dict) else None


# What the probe reads of each `kubectl get RESOURCE -o json`, and all that `profile capture` keeps
# of it: a dict keeps those keys, [shape] shapes every item of a list, True keeps a value whole, a
# function keeps what it returns. probe_k8s reads every document through api_fields, so it cannot
# read a field the capture left out.
API_FIELDS: dict[str, Any] = {
    "nodes": {
        "items": [
            {
                "metadata": {"name": True, "labels": _gpu_labels},
                "spec": {"taints": [{"key": True, "value": True, "effect": True}]},
                "status": {
                    "conditions": [{"type": True, "status": True}],
                    "capacity": {GPU_RESOURCE: True},
                    "allocatable": {GPU_RESOURCE: True},
                },
            }
        ]
    },
    "runtimeclasses": {"items": [{"metadata": {"name": True, "labels": {MANAGED_BY: True}}}]},
    "daemonsets": {"items": [{"metadata": {"name": True, "namespace": True}}]},
    "pods": {
        "items": [
            {
                "metadata": {"name": True, "namespace": True},
                "spec": {"runtimeClassName": True},
                "status": {"phase": True, "containerStatuses": [{"ready": True, "restartCount": True}]},
            }
        ]
    },
    "events": {"items": [{"message": True}]},
}


def _project(value: Any, shape: Any) -> Any:
    """`value` cut down to `shape` (API_FIELDS); None where it does not have that shape."""
    if shape is True:
        return value
    if callable(shape):
        return shape(value)
    if isinstance(shape, list):
        if not isinstance(value, list):
            return None
        return [p for p in (_project(v, shape[0]) for v in value) if p is not None]
    if not isinstance(value, dict):
        return None
    out = {}
    for key, sub in shape.items():
        if key in value and (p := _project(value[key], sub)) is not None:
            out[key] = p
    return out


def api_fields(resource: str, doc: Any) -> dict[str, Any]:
    """The fields of a `kubectl get RESOURCE -o json` document the probe reads (all of it for a
    resource API_FIELDS does not name)."""
    shape = API_FIELDS.get(resource)
    if shape is None:
        return doc if isinstance(doc, dict) else {}
    return _project(doc, shape) or {}


def api_resource(argv: Sequence[str]) -> str | None:
    """The resource of one of the probe's `kubectl … get RESOURCE … -o json` runs, else None."""
    argv = tuple(argv)
    if argv[-2:] != ("-o", "json") or "get" not in argv[:-2]:
        return None
    resource = argv[argv.index("get") + 1]
    return resource if resource in API_FIELDS else None


def _gpus(resources: dict[str, Any]) -> int:
    try:
        return int(resources.get(GPU_RESOURCE, 0))
    except (TypeError, ValueError):
        return 0


def parse_nodes(doc: dict[str, Any]) -> tuple[NodeInfo, ...]:
    nodes = []
    for item in doc.get("items", []):
        status = item.get("status", {})
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions", []))
        labels = item.get("metadata", {}).get("labels", {}) or {}
        nodes.append(
            NodeInfo(
                name=item.get("metadata", {}).get("name", "?"),
                ready=ready,
                gpu_capacity=_gpus(status.get("capacity", {})),
                gpu_allocatable=_gpus(status.get("allocatable", {})),
                labels=tuple(sorted((k, str(v)) for k, v in _gpu_labels(labels).items())),
                taints=tuple(
                    f"{t.get('key')}" + (f"={t['value']}" if t.get("value") else "") + f":{t.get('effect')}"
                    for t in item.get("spec", {}).get("taints", []) or []
                    if isinstance(t, dict)
                ),
            )
        )
    return tuple(nodes)


def find_gpu_daemonsets(doc: dict[str, Any]) -> tuple[str | None, str | None]:
    """(device plugin "namespace/name", GPU Operator namespace) among all DaemonSets."""
    plugin = operator = None
    for item in doc.get("items", []):
        meta = item.get("metadata", {})
        name, namespace = meta.get("name", ""), meta.get("namespace", "")
        if "nvidia-device-plugin" in name and plugin is None:
            plugin = f"{namespace}/{name}"
        if name in ("nvidia-operator-validator", "gpu-operator") or "gpu-feature-discovery" in name:
            operator = operator or namespace
    return plugin, operator


def parse_pods(doc: dict[str, Any]) -> tuple[PodInfo, ...]:
    pods = []
    for item in doc.get("items", []):
        meta, spec, status = item.get("metadata", {}), item.get("spec", {}), item.get("status", {})
        containers = status.get("containerStatuses", []) or []
        pods.append(
            PodInfo(
                namespace=meta.get("namespace", ""),
                name=meta.get("name", "?"),
                phase=status.get("phase", "Unknown"),
                ready=bool(containers) and all(c.get("ready") for c in containers),
                restarts=sum(int(c.get("restartCount", 0) or 0) for c in containers),
                runtime_class=spec.get("runtimeClassName"),
            )
        )
    return tuple(pods)


SANDBOX_EVENT = "reason=FailedCreatePodSandBox"
GPUWIZ_SELECTOR = "managed-by=gpuwiz"  # gpuwiz labels its helm releases and objects with it
# The kubelet's own config: kubeadm writes it (cgroupDriver: systemd by default since 1.22); k3s 1.32+
# writes its defaults to a drop-in.
KUBELET_CONFIGS = (
    "/var/lib/kubelet/config.yaml",
    "/var/lib/rancher/k3s/agent/etc/kubelet.conf.d/00-k3s-defaults.conf",
    "/var/lib/rancher/rke2/agent/etc/kubelet.conf.d/00-rke2-defaults.conf",
)
CGROUP_DRIVER = re.compile(r"^cgroupDriver:\s*\"?(\w+)\"?\s*$", re.MULTILINE)


def kubelet_cgroup_driver(host: Host) -> str | None:
    for path in KUBELET_CONFIGS:
        match = CGROUP_DRIVER.search(host.read_text(path) or "")
        if match:
            return match.group(1)
    return None


def probe_k8s(host: Host) -> K8sFacts:
    flavour = detect_flavour(host)
    kubectl = kubectl_argv(host, flavour)
    kubeconfig = find_kubeconfig(host, flavour)
    hostname = (host.read_text("/proc/sys/kernel/hostname") or "").strip().lower() or None
    facts = dict(
        flavour=flavour,
        kubectl_path=host.which(kubectl[0]) if kubectl else None,
        helm_path=host.which("helm"),
        kubeconfig=kubeconfig,
        kubelet_cgroup_driver=kubelet_cgroup_driver(host) if flavour else None,
        api_error=None,
        node_name=None,
        nodes=(),
        runtime_class_nvidia=None,
        device_plugin=None,
        gpu_operator=None,
    )
    if flavour is None or kubectl is None:
        return K8sFacts(**facts)
    prefix = [*kubectl, *(["--kubeconfig", kubeconfig] if kubeconfig else [])]
    base = [*prefix, REQUEST_TIMEOUT]

    refused: list[tuple[str, str]] = []

    def get(*what: str) -> tuple[dict[str, Any] | None, str | None]:
        result = host.run([*base, "get", *what, "-o", "json"], timeout=15)
        if not result.ok:
            error = (result.stderr.strip().splitlines() or [f"kubectl exited {result.returncode}"])[-1]
            if "(Forbidden)" in error:  # RBAC: a node's own credentials may read nodes and pods, not daemonsets
                refused.append((what[0], error))
            return None, error
        try:
            return api_fields(what[0], json.loads(result.stdout)), None
        except json.JSONDecodeError:
            return None, "kubectl printed something that is not JSON"

    nodes_doc, error = get("nodes")
    if nodes_doc is None:
        return K8sFacts(**{**facts, "api_error": error})
    nodes = parse_nodes(nodes_doc)
    names = {n.name.lower() for n in nodes}
    runtime_classes, _ = get("runtimeclasses")
    daemonsets, _ = get("daemonsets", "--all-namespaces")
    plugin, operator = find_gpu_daemonsets(daemonsets or {})
    node_name = hostname if hostname in names else None
    pods: tuple[PodInfo, ...] = ()
    validator: PodInfo | None = None
    log: tuple[str, ...] = ()
    if plugin and node_name:
        namespace = plugin.split("/", 1)[0]
        found, _ = get("pods", "-n", namespace, "--field-selector", f"spec.nodeName={node_name}")
        on_node = parse_pods(found or {})
        pods = tuple(p for p in on_node if "device-plugin" in p.name)
        validator = next((p for p in on_node if p.name.startswith("nvidia-operator-validator")), None)
        failing = next((p for p in pods if not p.ready or p.restarts), None)
        if failing:
            result = host.run([*base, "logs", "-n", failing.namespace, failing.name, "--tail=50"], timeout=15)
            log = tuple(result.stdout.splitlines()[-50:]) if result.ok else ()
    sandbox: tuple[str, ...] = ()
    if runtime_classes is not None:
        events, _ = get("events", "--all-namespaces", "--field-selector", SANDBOX_EVENT)
        sandbox = tuple(str(e.get("message", "")) for e in (events or {}).get("items", []))
    releases: tuple[tuple[str, str], ...] = ()
    helm_version = None
    if host.which("helm"):
        version = host.run(["helm", "version", "--short"], timeout=10)
        if version.ok:
            helm_version = version.stdout.strip().split("+", 1)[0] or None
        helm = ["helm", *(["--kubeconfig", kubeconfig] if kubeconfig else [])]
        listed = host.run([*helm, "list", "--all-namespaces", "--selector", GPUWIZ_SELECTOR, "-o", "json"], timeout=15)
        try:
            releases = tuple(
                (r["namespace"], r["name"]) for r in json.loads(listed.stdout or "[]") if isinstance(r, dict)
            )
        except (json.JSONDecodeError, KeyError, TypeError):
            releases = ()
    ours = any(
        i.get("metadata", {}).get("name") == "nvidia"
        and (i.get("metadata", {}).get("labels") or {}).get(MANAGED_BY) == "gpuwiz"
        for i in (runtime_classes or {}).get("items", [])
    )
    return K8sFacts(
        **{
            **facts,
            "gpuwiz_releases": releases,
            "helm_version": helm_version,
            "runtime_class_by_gpuwiz": ours,
            "node_name": node_name,
            "nodes": nodes,
            "runtime_class_nvidia": None
            if runtime_classes is None
            else any(i.get("metadata", {}).get("name") == "nvidia" for i in runtime_classes.get("items", [])),
            "device_plugin": plugin,
            "gpu_operator": operator,
            "kubectl": tuple(prefix),
            "plugin_pods": pods,
            "operator_validator": validator,
            "plugin_log": log,
            "sandbox_errors": sandbox,
            "refused": tuple(refused),
        }
    )
