"""The Kubernetes layer's planner: RuntimeClass, device plugin or GPU Operator, then a Job that ran nvidia-smi here.

Everything goes through `kubectl` and `helm` (the argv prefix the probe reached the API with);
manifests are generated as data and written as JSON files the plan shows before `kubectl apply -f`.
"""

from __future__ import annotations

from dataclasses import replace

from gpuwiz.backends.checks.k8s import helm_too_old
from gpuwiz.backends.doctor import DoctorReport
from gpuwiz.backends.findings import Layer, Status
from gpuwiz.backends.gpu_records import cuda_version_text
from gpuwiz.backends.planners.choices import Choice, Option, Selections
from gpuwiz.backends.planners.k8s_manifests import (
    GPU,
    TEST_JOB,
    TEST_NAMESPACE,
    gpu_test_job,
    manifest_path,
    render,
    runtime_class,
)
from gpuwiz.backends.planners.runtime import cuda_image
from gpuwiz.backends.runs.plan import FileEdit, PlanNote, Step

L = Layer.K8S
# Pinned, shown in the plan: the newest releases on 2026-08-20 (NVIDIA/k8s-device-plugin v0.20.0,
# NVIDIA/gpu-operator v26.7.0; their git tags).
DEVICE_PLUGIN_CHART_VERSION = "0.20.0"
DEVICE_PLUGIN_REPO = ("nvdp", "https://nvidia.github.io/k8s-device-plugin")
DEVICE_PLUGIN_RELEASE = "nvdp"
DEVICE_PLUGIN_NAMESPACE = "nvidia-device-plugin"
DEVICE_PLUGIN_DAEMONSET = "nvdp-nvidia-device-plugin"
GPU_OPERATOR_CHART_VERSION = "v26.7.0"
# The chart's default node affinity wants NFD's pci-10de label or this one; without NFD (gfd.enabled=false,
# the default) the DaemonSet gets no pod at all (NVIDIA/k8s-device-plugin issues #607, #708).
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
GPU_OPERATOR_REPO = ("nvidia", "https://helm.ngc.nvidia.com/nvidia")
GPU_OPERATOR_NAMESPACE = "gpu-operator"
WAIT_S = 300
WAIT = f"{WAIT_S}s"
GPU_TAINT = f"{GPU}=present:NoSchedule"
# helm 3.13+: a label on the release (not on its objects), so an uninstall removes only what gpuwiz installed
RELEASE_LABELS = ("--labels", "managed-by=gpuwiz")


class K8sPlanner:
    """Registered as `planner:k8s` (entry-point group gpuwiz.backends)."""

    layer = L
    name = "k8s"
    keys = {"k8s.stack": "device-plugin|gpu-operator", "k8s.taint": "yes|no", "k8s.action": "keep|remove"}

    @staticmethod
    def _ready(report: DoctorReport) -> bool:
        k = report.facts.k8s
        return bool(k and k.flavour and k.kubectl and k.api_error is None)

    def choices(self, report: DoctorReport) -> list[Choice]:
        k = report.facts.k8s
        if not self._ready(report) or k is None or k.refused:
            return []
        out = []
        if not (k.device_plugin or k.gpu_operator):
            helm = bool(k.helm_path)
            out.append(
                Choice(
                    "k8s.stack",
                    L,
                    "GPU support",
                    (
                        Option("device-plugin", "NVIDIA device plugin", f"helm chart {DEVICE_PLUGIN_CHART_VERSION}"),
                        Option("gpu-operator", "GPU Operator", f"helm chart {GPU_OPERATOR_CHART_VERSION}"),
                    ),
                    "device-plugin",
                    "Driver and toolkit are on the host already: the small device plugin is all the cluster needs."
                    + ("" if helm else " (helm is not installed: it will be.)"),
                )
            )
        node = next((n for n in k.nodes if n.name.lower() == (k.node_name or "")), None)
        if k.gpuwiz_releases or k.runtime_class_by_gpuwiz or (node and GPU_TAINT in node.taints):
            out.append(
                Choice(
                    "k8s.action",
                    L,
                    "gpuwiz's GPU setup",
                    (
                        Option("keep", "Keep it", ""),
                        Option(
                            "remove",
                            "Remove it",
                            "releases, RuntimeClass, taint",
                            confirm="Remove what gpuwiz put into the cluster (its helm releases, the RuntimeClass nvidia "
                            "it created, its taint)? GPU pods stop being scheduled.",
                        ),
                    ),
                    "keep",
                    "Only what gpuwiz installed is offered for removal; anything else in the cluster stays.",
                )
            )
        if node is not None:
            tainted = any(t.startswith(f"{GPU}") for t in node.taints)
            out.append(
                Choice(
                    "k8s.taint",
                    L,
                    "GPU-only node",
                    (Option("no", "No", "any pod may run here"), Option("yes", "Yes", f"taint {GPU_TAINT}")),
                    "yes" if tainted else "no",
                    "Already tainted for GPU pods only." if tainted else "A homelab node runs other pods too.",
                )
            )
        return out

    def plan(self, report: DoctorReport, selections: Selections) -> list[Step | PlanNote]:
        k = report.facts.k8s
        if not self._ready(report) or k is None:
            return []
        if k.refused:
            return [
                PlanNote(
                    L,
                    f"{k.kubeconfig} may not read the cluster's {', '.join(what for what, _ in k.refused)} (a node's "
                    "own credentials): run gpuwiz with an admin's kubeconfig (KUBECONFIG=…) to set up Kubernetes.",
                )
            ]
        values = {c.key: selections.get(c.key, c.recommended) for c in self.choices(report)}
        node = next((n for n in k.nodes if n.name.lower() == (k.node_name or "")), None)
        kubectl = k.kubectl
        if values.get("k8s.action") == "remove":
            return _remove(k, node)
        steps: list[Step | PlanNote] = []
        if k.runtime_class_nvidia is False:
            steps += _apply(
                "k8s.runtimeclass",
                "Create the RuntimeClass nvidia",
                "runtimeclass",
                runtime_class(),
                kubectl,
                "Pods ask for the nvidia runtime by this name; containerd maps it to its nvidia handler.",
            )
        ids = {f.id: f.status for f in report.layer(L).findings}
        if ids.get("k8s.runtime-handler") is Status.FAIL:
            steps.append(_restart_runtime(report))
        if ids.get("k8s.plugin-nvml") is Status.FAIL and k.device_plugin:
            steps.append(_plugin_runtime_class(k))
        stack = values.get("k8s.stack")
        default_nvidia = _nvidia_is_default(report)
        if stack in ("device-plugin", "gpu-operator") and helm_too_old(k.helm_version):
            steps.append(
                PlanNote(
                    L,
                    f"helm {k.helm_version} cannot label releases (helm install --labels came with helm 3.13), and "
                    "gpuwiz finds its releases again by that label to update or remove them: upgrade helm "
                    "(https://helm.sh/docs/intro/install/), then plan again.",
                )
            )
            stack = None
        if stack == "device-plugin":
            if node is not None and not any(
                key in (GPU_PRESENT_LABEL, "feature.node.kubernetes.io/pci-10de.present") and value == "true"
                for key, value in node.labels
            ):
                steps.append(
                    Step(
                        "k8s.label-node",
                        f"Label {node.name} as a GPU node ({GPU_PRESENT_LABEL}=true)",
                        L,
                        argv=(*kubectl, "label", "node", node.name, f"{GPU_PRESENT_LABEL}=true", "--overwrite"),
                        needs_root=False,
                        why="The device plugin chart only schedules on nodes NFD marked as having an NVIDIA PCI "
                        "device, or labelled so; without NFD its DaemonSet would get no pod here.",
                    )
                )
            steps += _device_plugin(k, default_nvidia)
        elif stack == "gpu-operator":
            steps += _gpu_operator(k, report)
            if not default_nvidia:
                steps.append(
                    PlanNote(
                        L,
                        "NVIDIA's GPU Operator docs ask for nvidia as containerd's default runtime when the driver and "
                        "toolkit are on the host: choose 'nvidia as default' on the runtime layer.",
                    )
                )
        if node is None:
            return [
                *steps,
                PlanNote(L, "This host is not one of the cluster's nodes by name: run gpuwiz on the GPU node."),
            ]
        taint = values.get("k8s.taint") == "yes"
        if taint and not any(t.startswith(GPU) for t in node.taints):
            steps.append(
                Step(
                    "k8s.taint",
                    f"Keep non-GPU pods off {node.name} (taint {GPU_TAINT})",
                    L,
                    argv=(*kubectl, "taint", "nodes", node.name, GPU_TAINT, "--overwrite"),
                    needs_root=False,
                    why="Only pods that tolerate it (GPU pods, the device plugin) are scheduled here.",
                )
            )
        if steps or {f.id: f.status for f in report.layer(L).findings}.get("k8s.allocatable") is not Status.OK:
            steps += _verify(report, node.name, kubectl, taint or any(t.startswith(GPU) for t in node.taints))
        return steps


def _restart_runtime(report: DoctorReport) -> Step:
    """Row 21: the RuntimeClass names a handler the running containerd does not have (not restarted since)."""
    rt = report.facts.runtime
    flavour = rt.containerd.flavour if rt and rt.containerd else "containerd"
    unit = {"k3s": "k3s", "rke2": "rke2-server", "microk8s": "snap.microk8s.daemon-containerd"}.get(
        flavour, "containerd"
    )
    return Step(
        "k8s.restart-runtime",
        f"Restart {unit} so it loads the nvidia runtime handler",
        L,
        argv=("systemctl", "restart", unit),
        verifies=("k8s.runtime-handler",),
        why="Pods fail with 'no runtime for \"nvidia\" is configured' although the config has it: the running "
        "containerd started before the edit.",
    )


def _plugin_runtime_class(k) -> Step:
    """Row 22: the plugin's pod runs with runc and cannot load NVML; give it runtimeClassName nvidia."""
    namespace, name = k.device_plugin.split("/", 1)
    patch = '{"spec":{"template":{"spec":{"runtimeClassName":"nvidia"}}}}'
    return Step(
        "k8s.plugin-runtime-class",
        f"Run the device plugin ({k.device_plugin}) with the nvidia runtime",
        L,
        argv=(*k.kubectl, "patch", "daemonset", name, "-n", namespace, "--type", "merge", "-p", patch),
        needs_root=False,
        verifies=("k8s.plugin-nvml",),
        why="Without runtimeClassName the plugin's container has no NVIDIA libraries ('could not load NVML library'). "
        "A helm release keeps the fix with `--set runtimeClassName=nvidia` at its next upgrade.",
    )


def _remove(k, node) -> list[Step | PlanNote]:
    """Only what gpuwiz installed: its labelled helm releases, its labelled RuntimeClass, its taint."""
    steps: list[Step | PlanNote] = []
    for namespace, release in k.gpuwiz_releases:
        steps.append(
            Step(
                f"k8s.uninstall-{release}",
                f"Uninstall the helm release {namespace}/{release}",
                L,
                argv=(*_helm(k), "uninstall", release, "--namespace", namespace, "--wait"),
                needs_root=False,
                why="gpuwiz installed it (its release carries managed-by=gpuwiz).",
            )
        )
    if k.runtime_class_by_gpuwiz:
        steps.append(
            Step(
                "k8s.delete-runtimeclass",
                "Delete the RuntimeClass nvidia gpuwiz created",
                L,
                argv=(*k.kubectl, "delete", "runtimeclass", "nvidia", "--ignore-not-found"),
                needs_root=False,
                why="It carries gpuwiz's label; one made by k3s or by you would not be touched.",
            )
        )
    if node is not None and GPU_TAINT in node.taints:
        steps.append(
            Step(
                "k8s.untaint",
                f"Remove the GPU-only taint from {node.name}",
                L,
                argv=(*k.kubectl, "taint", "nodes", node.name, f"{GPU_TAINT}-"),
                needs_root=False,
                why="Other pods may be scheduled here again.",
            )
        )
    steps.append(
        PlanNote(L, f"The label {GPU_PRESENT_LABEL} stays: it cannot tell who set it, and NFD/GFD set it too.")
    )
    return [replace(s, removal=True) if isinstance(s, Step) else s for s in steps]


def _nvidia_is_default(report: DoctorReport) -> bool:
    rt = report.facts.runtime
    return bool(rt and rt.containerd and rt.containerd.default_runtime == "nvidia")


def _apply(step_id: str, title: str, name: str, manifest: dict, kubectl: tuple[str, ...], why: str) -> list[Step]:
    path = manifest_path(name)
    return [
        Step(f"{step_id}-manifest", f"Write the manifest ({path})", L, edit=FileEdit(path, render(manifest)), why=why),
        Step(
            step_id,
            title,
            L,
            argv=(*kubectl, "apply", "-f", path),
            needs_root=False,
            why="kubectl applies the manifest above.",
        ),
    ]


def _helm(k) -> tuple[str, ...]:
    return ("helm", *(("--kubeconfig", k.kubeconfig) if k.kubeconfig else ()))


def _helm_repo(repo: str, url: str, title: str, why: str) -> Step:
    return Step(
        "k8s.helm-repo", title, L, argv=("helm", "repo", "add", repo, url, "--force-update"), needs_root=False, why=why
    )


def _device_plugin(k, default_nvidia: bool) -> list[Step]:
    repo, url = DEVICE_PLUGIN_REPO
    runtime_class_values = () if default_nvidia else ("--set", "runtimeClassName=nvidia")
    return [
        _helm_repo(repo, url, "Add NVIDIA's device plugin chart repository", "The chart NVIDIA publishes for it."),
        Step(
            "k8s.device-plugin",
            f"Install the NVIDIA device plugin (chart {DEVICE_PLUGIN_CHART_VERSION})",
            L,
            argv=(
                *_helm(k),
                "upgrade",
                "--install",
                DEVICE_PLUGIN_RELEASE,
                f"{repo}/nvidia-device-plugin",
                "--namespace",
                DEVICE_PLUGIN_NAMESPACE,
                "--create-namespace",
                "--version",
                DEVICE_PLUGIN_CHART_VERSION,
                *runtime_class_values,
                *RELEASE_LABELS,
                "--wait",
            ),
            needs_root=False,
            verifies=("k8s.device-plugin",),
            why="It tells the kubelet how many GPUs this node has (nvidia.com/gpu); the release is labelled "
            "managed-by=gpuwiz (helm 3.13+) so an uninstall finds it; "
            + (
                "nvidia is containerd's default runtime here."
                if default_nvidia
                else "runtimeClassName=nvidia so it can load NVML (without it: 'could not load NVML library')."
            ),
        ),
    ]


def _gpu_operator(k, report: DoctorReport) -> list[Step]:
    repo, url = GPU_OPERATOR_REPO
    rt = report.facts.runtime
    cdi = bool(rt and rt.containerd and rt.containerd.cdi)
    return [
        _helm_repo(repo, url, "Add NVIDIA's NGC chart repository", "The GPU Operator's chart is published on NGC."),
        Step(
            "k8s.gpu-operator",
            f"Install the GPU Operator (chart {GPU_OPERATOR_CHART_VERSION}), using this host's driver and toolkit",
            L,
            argv=(
                *_helm(k),
                "upgrade",
                "--install",
                "gpu-operator",
                f"{repo}/gpu-operator",
                "--namespace",
                GPU_OPERATOR_NAMESPACE,
                "--create-namespace",
                "--version",
                GPU_OPERATOR_CHART_VERSION,
                "--set",
                "driver.enabled=false",
                "--set",
                "toolkit.enabled=false",
                "--set",
                f"cdi.enabled={'true' if cdi else 'false'}",
                *RELEASE_LABELS,
                "--wait",
            ),
            needs_root=False,
            verifies=("k8s.device-plugin",),
            why="gpuwiz installed the driver and toolkit on the host, so the operator must not bring its own; "
            "it adds the device plugin, GPU feature discovery and its validator.",
        ),
    ]


def _verify(report: DoctorReport, node: str, kubectl: tuple[str, ...], tolerate: bool) -> list[Step]:
    driver = report.facts.driver
    cuda = cuda_version_text(driver.nvml.cuda_driver_version) if driver and driver.nvml else None
    image = cuda_image(cuda) or "docker.io/nvidia/cuda:12.2.2-base-ubuntu22.04"
    gpus = max(1, len(report.facts.hardware.nvidia_gpus))
    job = gpu_test_job(
        node, image, runtime_class_name=None if _nvidia_is_default(report) else "nvidia", tolerate_gpu_taint=tolerate
    )
    path = manifest_path(TEST_JOB)
    allocatable = "{.status.allocatable.nvidia\\.com/gpu}"
    return [
        Step(
            "k8s.wait-allocatable",
            f"Wait until {node} offers its {gpus} GPU(s) (up to {WAIT})",
            L,
            argv=(*kubectl, "wait", f"--for=jsonpath={allocatable}={gpus}", f"node/{node}", f"--timeout={WAIT}"),
            needs_root=False,
            verifies=("k8s.allocatable",),
            why="The device plugin registers the GPUs with the kubelet; the node then lists nvidia.com/gpu.",
            wait_s=WAIT_S,
        ),
        Step(
            "k8s.test-job-manifest",
            f"Write the test Job ({path})",
            L,
            edit=FileEdit(path, render(job)),
            why=f"nvidia-smi on {node} with one GPU, {image.split(':')[1]} (the driver runs CUDA {cuda or '?'}).",
        ),
        Step(
            "k8s.test-job",
            "Run the test Job",
            L,
            argv=(*kubectl, "apply", "-f", path),
            needs_root=False,
            why="The whole chain at once: scheduler, device plugin, runtime class, containerd, toolkit, driver.",
        ),
        Step(
            "k8s.test-job-wait",
            f"Wait for the Job to complete (up to {WAIT})",
            L,
            argv=(
                *kubectl,
                "wait",
                "--for=condition=complete",
                f"job/{TEST_JOB}",
                "-n",
                TEST_NAMESPACE,
                f"--timeout={WAIT}",
            ),
            needs_root=False,
            why="The image is pulled first; a GPU node without a free GPU leaves it pending.",
            wait_s=WAIT_S,
        ),
        Step(
            "k8s.test-job-logs",
            "Show what nvidia-smi printed in the pod",
            L,
            argv=(*kubectl, "logs", f"job/{TEST_JOB}", "-n", TEST_NAMESPACE),
            needs_root=False,
            why="The table nvidia-smi printed inside the pod: the GPU seen from Kubernetes.",
        ),
        Step(
            "k8s.test-job-delete",
            "Delete the test Job",
            L,
            argv=(*kubectl, "delete", "job", TEST_JOB, "-n", TEST_NAMESPACE, "--ignore-not-found"),
            needs_root=False,
            why="Nothing of the test stays behind.",
        ),
    ]


PLANNER = K8sPlanner()
