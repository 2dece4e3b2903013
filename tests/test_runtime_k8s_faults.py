"""Runtime and Kubernetes faults (DIAGNOSTICS rows 24-26, 30, 33) on profiles built from public threads."""

from __future__ import annotations

from gpuwiz.backends.doctor import run_doctor
from gpuwiz.backends.findings import Status


def finding(report, finding_id):
    found = [f for layer in report.layers for f in layer.findings if f.id == finding_id]
    assert found, f"{finding_id} not reported"
    return found[0]


def test_docker_dropin_config_file(profile_host):
    f = finding(run_doctor(profile_host("docker-dropin-config-file")), "runtime.docker.nvidia")
    assert f.status is Status.FAIL
    assert "/srv/docker/daemon.json" in f.message and "ExecStart --config-file" in f.message
    assert "/etc/docker/daemon.json names nvidia, but this dockerd does not read it" in f.message
    assert "it edits /srv/docker/daemon.json" in f.fix


def test_docker_snap_reads_its_own_daemon_json(profile_host):
    f = finding(run_doctor(profile_host("docker-snap-etc-daemon-json")), "runtime.docker.nvidia")
    assert f.status is Status.FAIL
    assert "/var/snap/docker/current/config/daemon.json" in f.message
    assert "/etc/docker/daemon.json names nvidia" in f.message
    assert "it edits /var/snap/docker/current/config/daemon.json" in f.fix


def test_eks_node_is_a_node(profile_host):
    report = run_doctor(profile_host("eks-gpu-node"))
    cluster = finding(report, "k8s.cluster")
    assert cluster.status is Status.OK and cluster.message.startswith("EKS cluster")
    assert "/var/lib/kubelet/kubeconfig" in cluster.message
    nvidia = finding(report, "runtime.containerd.nvidia")
    assert nvidia.status is Status.OK and "/etc/containerd/config.toml" in nvidia.message
    assert "default runtime nvidia" in nvidia.message  # the GPU AMI's nvidia-ctk --set-as-default
    # A node's own credentials may not list daemonsets: unknown, never "not deployed".
    plugin = finding(report, "k8s.device-plugin")
    assert plugin.status is Status.WARN and "may not list daemonsets" in plugin.message
    assert "KUBECONFIG=" in plugin.fix and "(Forbidden)" in plugin.evidence[0]
    assert finding(report, "k8s.runtimeclass").status is Status.WARN  # nvidia is the default runtime


def test_kubelet_credentials_plan_no_cluster_objects(profile_host):
    from gpuwiz.backends.findings import Layer
    from gpuwiz.backends.planners.registry import build_plan

    plan = build_plan(run_doctor(profile_host("eks-gpu-node")))
    assert not [s for s in plan.steps if s.layer is Layer.K8S]
    notes = [n.text for n in plan.notes if n.layer is Layer.K8S]
    assert notes and "daemonsets" in notes[0] and "admin's kubeconfig" in notes[0]


def test_hand_built_kubelet_is_a_node(profile_host):
    cluster = finding(run_doctor(profile_host("kubelet-hand-built-node")), "k8s.cluster")
    assert cluster.status is Status.OK and cluster.message.startswith("kubelet (flavour not recognised) cluster")


def test_k3s_reads_its_own_containerd_config(profile_host):
    f = finding(run_doctor(profile_host("k3s-with-docker-containerd")), "runtime.containerd.nvidia")
    assert f.status is Status.OK
    assert "/var/lib/rancher/k3s/agent/etc/containerd/config.toml" in f.message
    assert "/etc/containerd/config.toml" not in f.message.replace("/agent/etc/containerd/config.toml", "")
    assert f.evidence == (
        "/etc/containerd/config.toml names nvidia too: Docker's containerd.io reads it, kubelet uses k3s's containerd",
    )


def test_k3s_nvidia_only_in_docker_containerd_config(profile_host):
    """Row 33's failing side: the edit went to containerd.io's file; k3s's own containerd lacks nvidia."""
    report = run_doctor(profile_host("k3s-nvidia-in-docker-containerd"))
    f = finding(report, "runtime.containerd.nvidia")
    assert f.status is Status.FAIL
    assert f.message.startswith(
        "k3s's containerd has no nvidia runtime (/var/lib/rancher/k3s/agent/etc/containerd/config.toml)"
    )
    assert "/etc/containerd/config.toml names nvidia, but that file belongs to a second containerd" in f.message
    assert f.fix.startswith("Restart k3s once the toolkit is installed")
    assert "the edit in /etc/containerd/config.toml reaches no pod" in f.fix
    handler = finding(report, "k8s.runtime-handler")
    assert handler.status is Status.FAIL and 'no runtime for "nvidia" is configured' in handler.evidence[0]


def test_secure_boot_unsigned_module(profile_host):
    f = finding(run_doctor(profile_host("secureboot-unsigned-module")), "driver.secure-boot-unsigned")
    assert f.status is Status.FAIL and "not signed at all" in f.message
    assert "/var/lib/dkms/mok.pub" in f.fix and "mokutil --import /var" not in f.fix
    assert any("unsigned module loading is restricted" in e for e in f.evidence)


def test_secure_boot_dkms_key_not_enrolled(profile_host):
    f = finding(run_doctor(profile_host("secureboot-dkms-key-not-enrolled")), "driver.secure-boot-key")
    assert f.status is Status.FAIL
    assert f.fix.startswith("mokutil --import /var/lib/dkms/mok.pub")
    assert "mokutil --test-key /var/lib/dkms/mok.pub: not enrolled" in f.evidence
