"""The Kubernetes profiles: doctor names the right fault, plan the right fix."""

from __future__ import annotations

import subprocess
import sys

from gpuwiz.backends.doctor import run_doctor
from gpuwiz.backends.findings import Layer
from gpuwiz.backends.planners.registry import build_plan


def k8s(report):
    return {f.id: f.status.value for f in report.layer(Layer.K8S).findings}


def test_cluster_without_gpu_support(profile_host):
    report = run_doctor(profile_host("k8s-no-gpu-support"))
    assert [r.status.value for r in report.layers] == ["ok", "ok", "ok", "ok", "fail"]
    found = k8s(report)
    assert found["k8s.runtimeclass"] == found["k8s.device-plugin"] == found["k8s.allocatable"] == "fail"


def test_plan_sh_shows_runtimeclass_plugin_and_job():
    done = subprocess.run(
        [sys.executable, "-m", "gpuwiz", "--profile", "k8s-no-gpu-support", "plan", "--format", "sh"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    script = done.stdout
    for needle in (
        '"kind": "RuntimeClass"',
        "apply -f /var/lib/gpuwiz/k8s/runtimeclass.json",
        "upgrade --install nvdp nvdp/nvidia-device-plugin",
        "--set runtimeClassName=nvidia",
        '"kind": "Job"',
        "wait --for=condition=complete job/gpuwiz-nvidia-smi",
        "logs job/gpuwiz-nvidia-smi",
        "delete job gpuwiz-nvidia-smi",
    ):
        assert needle in script, needle
    assert subprocess.run(["bash", "-n", "-c", script]).returncode == 0


def test_k3s_node_is_healthy_through_k3s_kubectl(profile_host):
    report = run_doctor(profile_host("k3s-node"))
    assert [r.status.value for r in report.layers] == ["ok"] * 5, [
        (f.id, f.message) for r in report.layers for f in r.findings if f.status.value != "ok"
    ]
    assert report.facts.k8s.flavour == "k3s" and report.facts.k8s.kubectl[:2] == ("k3s", "kubectl")
    assert report.facts.runtime.containerd.flavour == "k3s"


def test_failing_plugin_is_named_and_fixed(profile_host):
    report = run_doctor(profile_host("k8s-plugin-failing"))
    assert k8s(report)["k8s.plugin-nvml"] == "fail"
    steps = [s.id for s in build_plan(report).steps if s.layer is Layer.K8S]
    assert steps[0] == "k8s.plugin-runtime-class" and "k8s.test-job" in steps
