"""The Kubernetes planner and its manifests, judged by Kubernetes' own schemas (kubernetes-validate)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from gpuwiz.backends.doctor import diagnose, run_doctor
from gpuwiz.backends.findings import Layer
from gpuwiz.backends.planners.k8s_manifests import gpu_test_job, runtime_class
from gpuwiz.backends.planners.registry import build_plan, offered_choices
from gpuwiz.backends.probes import probe_all

kubernetes_validate = pytest.importorskip("kubernetes_validate")
# The versions gpuwiz claims: the oldest still in wide use on homelab nodes (1.28, seed 002's) to the newest.
K8S_VERSIONS = ("1.28", "1.30", "1.32", "1.34")


def k8s_steps(plan):
    return [s for s in plan.steps if s.layer.value == "k8s"]


def without_gpu_support(profile_host, **changes):
    facts = probe_all(profile_host("homelab-ready"))
    k8s = replace(
        facts.k8s,
        runtime_class_nvidia=False,
        device_plugin=None,
        gpu_operator=None,
        plugin_pods=(),
        nodes=tuple(replace(n, gpu_allocatable=0, gpu_capacity=0, labels=()) for n in facts.k8s.nodes),
        **changes,
    )
    return diagnose(replace(facts, k8s=k8s))


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_manifests_are_valid_kubernetes_objects(version):
    job = gpu_test_job("node3", "docker.io/nvidia/cuda:12.2.2-base-ubuntu22.04", tolerate_gpu_taint=True)
    for manifest in (runtime_class(), job):
        assert kubernetes_validate.validate(manifest, version, strict=True) == version


def test_a_cluster_without_gpu_support_gets_the_whole_chain(profile_host):
    report = without_gpu_support(profile_host)
    choices = {c.key: c for c in offered_choices(report)}
    assert choices["k8s.stack"].recommended == "device-plugin"
    steps = k8s_steps(build_plan(report))
    assert [s.id for s in steps] == [
        "k8s.runtimeclass-manifest",
        "k8s.runtimeclass",
        "k8s.label-node",
        "k8s.helm-repo",
        "k8s.device-plugin",
        "k8s.wait-allocatable",
        "k8s.test-job-manifest",
        "k8s.test-job",
        "k8s.test-job-wait",
        "k8s.test-job-logs",
        "k8s.test-job-delete",
    ]
    by_id = {s.id: s for s in steps}
    prefix = ("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf")
    assert by_id["k8s.runtimeclass"].argv == (*prefix, "apply", "-f", "/var/lib/gpuwiz/k8s/runtimeclass.json")
    assert json.loads(by_id["k8s.runtimeclass-manifest"].edit.new_text) == runtime_class()
    install = by_id["k8s.device-plugin"].argv
    assert install[:5] == ("helm", "--kubeconfig", "/etc/kubernetes/admin.conf", "upgrade", "--install")
    assert "runtimeClassName=nvidia" in install and "--version" in install
    job = json.loads(by_id["k8s.test-job-manifest"].edit.new_text)
    spec = job["spec"]["template"]["spec"]
    assert spec["runtimeClassName"] == "nvidia" and spec["nodeSelector"] == {"kubernetes.io/hostname": "node3"}
    assert spec["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": 1}
    assert spec["containers"][0]["image"] == "docker.io/nvidia/cuda:12.2.2-base-ubuntu22.04"  # the driver's CUDA 12.2
    for version in K8S_VERSIONS:
        kubernetes_validate.validate(job, version, strict=True)
    wait = by_id["k8s.wait-allocatable"].argv
    assert "--for=jsonpath={.status.allocatable.nvidia\\.com/gpu}=1" in wait and "node/node3" in wait
    assert by_id["k8s.test-job-delete"].argv[-1] == "--ignore-not-found"
    assert all(not s.needs_root for s in steps if s.argv)  # kubectl and helm run as the user


def test_gpu_operator_uses_the_hosts_driver_and_toolkit(profile_host):
    steps = k8s_steps(build_plan(without_gpu_support(profile_host), {"k8s.stack": "gpu-operator"}))
    install = next(s for s in steps if s.id == "k8s.gpu-operator").argv
    assert "driver.enabled=false" in install and "toolkit.enabled=false" in install
    assert "nvidia/gpu-operator" in install and "--version" in install


def test_taint_means_tolerations_in_the_test_job(profile_host):
    steps = k8s_steps(build_plan(without_gpu_support(profile_host), {"k8s.taint": "yes"}))
    taint = next(s for s in steps if s.id == "k8s.taint")
    assert taint.argv[-3:] == ("node3", "nvidia.com/gpu=present:NoSchedule", "--overwrite")
    job = json.loads(next(s for s in steps if s.id == "k8s.test-job-manifest").edit.new_text)
    assert job["spec"]["template"]["spec"]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]


def test_healthy_cluster_gets_nothing(profile_host):
    assert k8s_steps(build_plan(run_doctor(profile_host("homelab-ready")))) == []


def test_rows_21_and_22_from_events_and_plugin_log(profile_host):
    facts = probe_all(profile_host("homelab-ready"))
    from gpuwiz.backends.facts import PodInfo

    pod = PodInfo("nvidia-device-plugin", "nvdp-nvidia-device-plugin-x7k2p", "Running", False, 7, None)
    log = (
        "I1122 10:00:00.000000       1 factory.go:112] Incompatible strategy detected auto",
        "E1122 10:00:00.000000       1 main.go:132] could not load NVML library: libnvidia-ml.so.1: cannot open shared object file",
    )
    k8s = replace(
        facts.k8s,
        device_plugin="nvidia-device-plugin/nvdp-nvidia-device-plugin",
        plugin_pods=(pod,),
        plugin_log=log,
        sandbox_errors=(
            "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox runtime: "
            'no runtime for "nvidia" is configured',
        ),
    )
    findings = {f.id: f for f in diagnose(replace(facts, k8s=k8s)).layer(Layer.K8S).findings}
    assert findings["k8s.runtime-handler"].status.value == "fail"
    nvml = findings["k8s.plugin-nvml"]
    assert nvml.status.value == "fail" and "no runtimeClassName" in nvml.message and "runtimeClassName" in nvml.fix


def test_failing_plugin_gets_the_runtime_class_and_a_restart(profile_host):
    from gpuwiz.backends.facts import PodInfo

    facts = probe_all(profile_host("homelab-ready"))
    pod = PodInfo("nvidia-device-plugin", "nvdp-nvidia-device-plugin-x7k2p", "Running", False, 7, None)
    k8s = replace(
        facts.k8s,
        device_plugin="nvidia-device-plugin/nvdp-nvidia-device-plugin",
        gpu_operator=None,
        plugin_pods=(pod,),
        plugin_log=("could not load NVML library: libnvidia-ml.so.1: cannot open shared object file",),
        sandbox_errors=('failed to get sandbox runtime: no runtime for "nvidia" is configured',),
        nodes=tuple(replace(n, gpu_allocatable=0) for n in facts.k8s.nodes),
    )
    steps = {s.id: s for s in k8s_steps(build_plan(diagnose(replace(facts, k8s=k8s))))}
    patch = steps["k8s.plugin-runtime-class"].argv
    assert patch[patch.index("daemonset") + 1 : patch.index("-p")] == (
        "nvdp-nvidia-device-plugin",
        "-n",
        "nvidia-device-plugin",
        "--type",
        "merge",
    )
    assert patch[patch.index("-p") + 1] == '{"spec":{"template":{"spec":{"runtimeClassName":"nvidia"}}}}'
    assert steps["k8s.restart-runtime"].argv == ("systemctl", "restart", "containerd")
    assert "k8s.wait-allocatable" in steps and "k8s.test-job" in steps


def test_kubelet_and_containerd_must_agree_on_the_cgroup_driver(profile_host):
    host = profile_host("homelab-ready")
    host.write_text(
        "/var/lib/kubelet/config.yaml", "apiVersion: kubelet.config.k8s.io/v1beta1\ncgroupDriver: systemd\n"
    )
    report = run_doctor(host)
    finding = {f.id: f for f in report.layer(Layer.K8S).findings}["k8s.cgroup-driver"]
    assert finding.status.value == "ok"  # runc has SystemdCgroup = true on this node
    host.write_text("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\ncgroupDriver: cgroupfs\n")
    finding = {f.id: f for f in run_doctor(host).layer(Layer.K8S).findings}["k8s.cgroup-driver"]
    assert finding.status.value == "fail" and "SystemdCgroup = true" in finding.message


def test_remove_takes_away_only_what_gpuwiz_installed(profile_host):
    facts = probe_all(profile_host("homelab-ready"))
    node = replace(facts.k8s.nodes[2], taints=("nvidia.com/gpu=present:NoSchedule",))
    k8s = replace(
        facts.k8s,
        gpuwiz_releases=(("nvidia-device-plugin", "nvdp"),),
        runtime_class_by_gpuwiz=True,
        nodes=(*facts.k8s.nodes[:2], node),
    )
    report = diagnose(replace(facts, k8s=k8s))
    action = {c.key: c for c in offered_choices(report)}["k8s.action"]
    assert action.recommended == "keep" and action.option("remove").confirm
    plan = build_plan(report, {"k8s.action": "remove"})
    steps = {s.id: s.argv for s in k8s_steps(plan)}
    assert steps["k8s.uninstall-nvdp"][-5:] == ("uninstall", "nvdp", "--namespace", "nvidia-device-plugin", "--wait")
    assert steps["k8s.delete-runtimeclass"][-3:] == ("runtimeclass", "nvidia", "--ignore-not-found")
    assert steps["k8s.untaint"][-1] == "nvidia.com/gpu=present:NoSchedule-"
    assert not any("test-job" in i for i in steps)
    # nothing of gpuwiz's there: nothing offered for removal
    assert "k8s.action" not in {c.key for c in offered_choices(run_doctor(profile_host("homelab-ready")))}


def test_installs_label_their_releases(profile_host):
    steps = k8s_steps(build_plan(without_gpu_support(profile_host)))
    install = next(s for s in steps if s.id == "k8s.device-plugin").argv
    assert install[install.index("--labels") + 1] == "managed-by=gpuwiz"


def test_gpu_operator_validator_verdict(profile_host):
    facts = probe_all(profile_host("homelab-ready"))
    assert facts.k8s.operator_validator and facts.k8s.operator_validator.ready
    failing = replace(facts.k8s, operator_validator=replace(facts.k8s.operator_validator, ready=False, phase="Pending"))
    finding = {f.id: f for f in diagnose(replace(facts, k8s=failing)).layer(Layer.K8S).findings}[
        "k8s.operator-validator"
    ]
    assert finding.status.value == "fail" and "init containers" in finding.fix


def test_helm_older_than_3_13_cannot_label_releases():
    from gpuwiz.backends.checks.k8s import helm_too_old
    from gpuwiz.backends.machine.profile_host import ProfileHost
    from gpuwiz.backends.machine.profiles import CommandAnswer, load_profile

    assert helm_too_old("v3.12.3") and helm_too_old("v2.17.0")
    assert not helm_too_old("v3.13.0") and not helm_too_old("v3.16.2") and not helm_too_old(None)
    profile = load_profile("k8s-no-gpu-support", {"HOME": "/nonexistent"})
    commands = dict(profile.commands)
    commands["helm version --short"] = CommandAnswer("v3.12.3+g3a31588\n")
    report = run_doctor(ProfileHost(replace(profile, commands=commands)))
    warn = [f for f in report.layer(Layer.K8S).findings if f.id == "k8s.helm-version"]
    assert warn and "3.13" in warn[0].message
    plan = build_plan(report, {})
    assert not any(s.argv and "install" in s.argv and s.argv[0] == "helm" for s in plan.steps)
    assert any("helm v3.12.3 cannot label releases" in n.text for n in plan.notes)
    assert any(s.id == "k8s.runtimeclass" for s in plan.steps)  # what needs no helm is still planned
