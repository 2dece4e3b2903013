"""The container runtime planner: the same edits as `runtime configure`, from the probe's recorded files."""

from __future__ import annotations

import json

from gpuwiz.backends.doctor import diagnose, run_doctor
from gpuwiz.backends.planners.registry import build_plan, offered_choices
from gpuwiz.backends.planners.runtime import cuda_image
from gpuwiz.backends.probes import probe_all
from gpuwiz.backends.toml_compat import tomllib


def runtime_steps(plan):
    return [s for s in plan.steps if s.layer.value == "runtime"]


def notes(plan):
    return [n.text for n in plan.notes if n.layer and n.layer.value == "runtime"]


def test_cuda_image_matches_the_driver():
    assert cuda_image("12.2") == "docker.io/nvidia/cuda:12.2.2-base-ubuntu22.04"
    assert cuda_image("12.7") == "docker.io/nvidia/cuda:12.6.3-base-ubuntu22.04"  # no 12.7 image: the one below
    assert cuda_image("13.2") == "docker.io/nvidia/cuda:13.0.0-base-ubuntu24.04"
    assert cuda_image("11.4") is None and cuda_image(None) is None


def test_fresh_workstation_installs_docker_and_configures_it(profile_host):
    report = run_doctor(profile_host("fresh-rtx3060"))
    choices = {c.key: c for c in offered_choices(report)}
    assert choices["runtime.install"].recommended == "docker"
    steps = runtime_steps(build_plan(report))
    assert [s.id for s in steps] == ["runtime.install", "runtime.docker-config"]
    assert steps[0].argv[-1] == "docker.io"
    config = steps[1].edit
    assert config.path == "/etc/docker/daemon.json" and config.old_text is None
    assert json.loads(config.new_text) == {"runtimes": {"nvidia": {"path": "nvidia-container-runtime", "args": []}}}
    assert steps[1].restarts == ("docker",)


def test_healthy_node_changes_only_what_is_asked(profile_host):
    report = run_doctor(profile_host("homelab-ready"))
    assert runtime_steps(build_plan(report)) == []
    plan = build_plan(report, {"runtime.default": "yes", "runtime.cdi": "yes"})
    steps = {s.id: s for s in runtime_steps(plan)}
    edit = steps["runtime.containerd-config"].edit
    removed = [ln for ln in edit.diff().splitlines() if ln.startswith("-") and not ln.startswith("---")]
    assert removed == ["-    enable_cdi = false", '-      default_runtime_name = "runc"']
    assert steps["runtime.containerd-config"].restarts == ("containerd",)
    assert steps["runtime.cdi-generate"].argv == ("nvidia-ctk", "cdi", "generate", "--output=/etc/cdi/nvidia.yaml")
    verify = steps["runtime.verify-containerd"].argv
    assert "--runc-binary=/usr/bin/nvidia-container-runtime" in verify and "nvidia-smi" == verify[-1]
    assert any("nvidia-cdi-refresh" in n for n in notes(plan))  # toolkit 1.14 has no refresh unit


def test_missing_runtime_entry_on_a_kubeadm_node(profile_host):
    host = profile_host("homelab-ready")
    config = host.read_text("/etc/containerd/config.toml")
    start = config.index('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]')
    end = config.index("[plugins.", start + 80)
    end = config.index("[plugins.", end + 10) if "runtimes.nvidia.options" in config[end : end + 80] else end
    host.write_text("/etc/containerd/config.toml", config[:start] + config[end:])
    report = run_doctor(host)
    assert report.layer(report.layers[3].layer).status.value == "fail"
    choice = {c.key: c for c in offered_choices(report)}["runtime.containerd-config"]
    assert choice.recommended == "in-place"  # containerd 1.x: a drop-in would replace the CRI table
    steps = runtime_steps(build_plan(report))
    edit = steps[0].edit
    nvidia = tomllib.loads(edit.new_text)["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["nvidia"]
    assert nvidia["options"]["BinaryName"] == "/usr/bin/nvidia-container-runtime"
    drop = runtime_steps(build_plan(report, {"runtime.containerd-config": "drop-in"}))
    assert [s.edit.path for s in drop if s.edit] == [
        "/etc/containerd/config.toml",
        "/etc/containerd/conf.d/99-nvidia.toml",
    ]


def test_docker_containerd_io_with_cri_off_on_a_cluster_node(profile_host):
    facts = probe_all(profile_host("homelab-ready"))
    from dataclasses import replace

    from gpuwiz.backends.configs.runtime_configure import ConfigureRequest  # noqa: F401 - the same editor runs under the planner

    view = facts.runtime.config_view
    docker_config = open("tests/data/containerd/docker-containerd.io.toml").read()
    view = replace(
        view, files=tuple((p, docker_config if p == "/etc/containerd/config.toml" else t) for p, t in view.files)
    )
    containerd = replace(facts.runtime.containerd, cri_disabled=True, runtimes=("runc",), config_version=1)
    report = diagnose(replace(facts, runtime=replace(facts.runtime, containerd=containerd, config_view=view)))
    steps = runtime_steps(build_plan(report))
    assert steps[0].id == "runtime.containerd-enable-cri"
    assert tomllib.loads(steps[0].edit.new_text).get("disabled_plugins") == []
    assert steps[1].edit.old_text == steps[0].edit.new_text  # the second edit starts from the first
    assert "nvidia" in tomllib.loads(steps[1].edit.new_text)["plugins"]["cri"]["containerd"]["runtimes"]


def test_rocky_gets_podman_with_cdi(profile_host):
    report = run_doctor(profile_host("rocky9-l4"))
    steps = runtime_steps(build_plan(report))
    assert [s.id for s in steps] == ["runtime.install"]
    assert steps[0].argv == ("dnf", "-y", "install", "podman")
    assert any("CDI spec is generated once the driver is up" in n for n in notes(build_plan(report)))


def test_systemd_cgroup_mismatch_is_found_and_fixed(profile_host):
    """DIAGNOSTICS row 15: the nvidia entry must use the same cgroup driver as runc."""
    host = profile_host("homelab-ready")
    config = host.read_text("/etc/containerd/config.toml")
    nvidia_at = config.index("runtimes.nvidia.options]")
    runc_true = config.count("SystemdCgroup = true")
    assert runc_true >= 2  # runc and nvidia both use the systemd driver on this kubeadm node
    head, tail = config[:nvidia_at], config[nvidia_at:]
    host.write_text(
        "/etc/containerd/config.toml", head + tail.replace("SystemdCgroup = true", "SystemdCgroup = false", 1)
    )
    report = run_doctor(host)
    finding = next(
        f for f in report.layer(report.layers[3].layer).findings if f.id == "runtime.containerd.systemd-cgroup"
    )
    assert finding.status.value == "warn" and "SystemdCgroup = false" in finding.message
    steps = runtime_steps(build_plan(report))
    diff = steps[0].edit.diff()
    assert "-            SystemdCgroup = false" in diff and "+            SystemdCgroup = true" in diff


def test_containerd_for_kubernetes_gets_its_prerequisites(profile_host):
    report = run_doctor(profile_host("fresh-rtx3060"))
    steps = runtime_steps(build_plan(report, {"runtime.install": "containerd"}))
    ids = [s.id for s in steps]
    assert ids[:7] == [
        "runtime.install",
        "runtime.k8s-modules",
        "runtime.modprobe-overlay",
        "runtime.modprobe-br-netfilter",
        "runtime.k8s-sysctl",
        "runtime.sysctl-apply",
        "runtime.containerd-config",
    ]
    assert steps[0].argv[-1] == "containerd"
    sysctl = steps[4].edit.new_text
    assert "net.bridge.bridge-nf-call-iptables = 1\n" in sysctl and "net.ipv4.ip_forward = 1\n" in sysctl
    # a new containerd: its whole config, runc and nvidia on the systemd cgroup driver kubelet uses
    config = steps[6].edit
    assert config.path == "/etc/containerd/config.toml" and config.old_text is None
    runtimes = tomllib.loads(config.new_text)["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
    assert (
        runtimes["runc"]["options"]["SystemdCgroup"] is True and runtimes["nvidia"]["options"]["SystemdCgroup"] is True
    )


def test_docker_ce_from_dockers_repository(profile_host):
    steps = runtime_steps(build_plan(run_doctor(profile_host("fresh-rtx3060")), {"runtime.install": "docker-ce"}))
    by_id = {s.id: s for s in steps}
    assert by_id["runtime.key-check"].argv[-1] == "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"
    assert (
        "--armor" in by_id["runtime.key-install"].argv
        and by_id["runtime.key-install"].argv[-3] == "/etc/apt/keyrings/docker.asc"
    )
    assert by_id["runtime.docker-source"].edit.new_text.endswith(
        "deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/ubuntu jammy stable\n"
    )
    assert by_id["runtime.install"].argv[-5:] == (
        "docker-ce",
        "docker-ce-cli",
        "containerd.io",
        "docker-buildx-plugin",
        "docker-compose-plugin",
    )
    assert "runtime.docker-config" in by_id
    rocky = runtime_steps(build_plan(run_doctor(profile_host("rocky9-l4")), {"runtime.install": "docker-ce"}))
    repo = next(s for s in rocky if s.id == "runtime.docker-repo").edit
    assert "baseurl=https://download.docker.com/linux/centos/$releasever/$basearch/stable\n" in repo.new_text


def test_nerdctl_proves_containerd_too(profile_host):
    from dataclasses import replace

    facts = probe_all(profile_host("homelab-ready"))
    with_nerdctl = replace(facts.runtime, nerdctl="/usr/local/bin/nerdctl")
    plan = build_plan(diagnose(replace(facts, runtime=with_nerdctl)), {"runtime.default": "yes"})
    verify = next(s for s in runtime_steps(plan) if s.id == "runtime.verify-nerdctl")
    assert verify.argv[:5] == ("nerdctl", "run", "--rm", "--gpus", "all") and verify.argv[-1] == "nvidia-smi"


def test_rootless_docker_reads_the_users_config():
    from gpuwiz.backends.configs.runtime_configure import docker_config_path
    from gpuwiz.backends.machine.file_view import FileView

    view = FileView(
        files=(("/run/user/1000/docker.sock", ""),),
        executables=(("docker", "/usr/bin/docker"),),
        env_items=(("XDG_RUNTIME_DIR", "/run/user/1000"), ("HOME", "/home/ana")),
        user_name="ana",
    )
    assert docker_config_path(view) == "/home/ana/.config/docker/daemon.json"
    snap = FileView(executables=(("docker", "/snap/bin/docker"),))
    assert docker_config_path(snap) == "/var/snap/docker/current/config/daemon.json"
