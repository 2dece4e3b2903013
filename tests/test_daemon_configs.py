"""Which file the running daemon reads (DIAGNOSTICS rows 24, 25), from real command lines."""

from __future__ import annotations

from dataclasses import replace

from gpuwiz.backends.checks.runtime import check_runtime
from gpuwiz.backends.configs.daemon_configs import flag_value, parse_exec_start, parse_pgrep
from gpuwiz.backends.facts import DockerFacts

# `ps -ef` on a kops node (containerd's line, verbatim); kops's nodeup writes the unit's
# ExecStart=/usr/bin/containerd -c /etc/containerd/config-kops.toml "$CONTAINERD_OPTS"
# (https://github.com/kubernetes/kops/blob/master/nodeup/pkg/model/containerd.go)
KOPS_ARGV = "/usr/bin/containerd -c /etc/containerd/config-kops.toml --log-level=info"
# `systemctl show --property=ExecStart docker`, verbatim from a public how-to
EXEC_START = (
    "ExecStart={ path=/usr/bin/dockerd ; argv[]=/usr/bin/dockerd -g /rtk/docker -H fd:// -H=tcp://0.0.0.0:2375 "
    "--containerd=/run/containerd/containerd.sock ; ignore_errors=no ; start_time=[Thu 2023-05-11 08:41:04 UTC] ; "
    "stop_time=[n/a] ; pid=155108 ; code=(null) ; status=0/>"
)


def test_pgrep_lines():
    assert parse_pgrep(f"5187 {KOPS_ARGV}\n") == [(5187, tuple(KOPS_ARGV.split()))]
    assert parse_pgrep("") == [] and parse_pgrep("garbage\n") == []


def test_exec_start_of_systemctl_show():
    argv = parse_exec_start(EXEC_START)
    assert (
        argv is not None
        and argv[0] == "/usr/bin/dockerd"
        and argv[-1] == "--containerd=/run/containerd/containerd.sock"
    )
    assert parse_exec_start("{ path=/usr/bin/dockerd ; argv[]=/usr/bin/dockerd -H fd:// }") == (
        "/usr/bin/dockerd",
        "-H",
        "fd://",
    )
    assert parse_exec_start("") is None


def test_flag_spellings():
    flags = ("-c", "--config")
    assert flag_value(KOPS_ARGV.split(), flags) == "/etc/containerd/config-kops.toml"
    assert flag_value(["containerd", "--config=/x.toml"], flags) == "/x.toml"
    assert flag_value(["containerd", "--config", "/a", "-c", "/b"], flags) == "/b"
    assert flag_value(["containerd", "--log-level=info"], flags) is None
    assert flag_value(["dockerd", "--config-file", "/srv/d.json"], ("--config-file",)) == "/srv/d.json"


def _docker(**changes) -> DockerFacts:
    base = DockerFacts(
        version="24.0.7",
        config_path="/etc/docker/daemon.json",
        config_exists=True,
        config_error=None,
        runtimes=("nvidia",),
        default_runtime=None,
        cdi=False,
        service="active",
        daemon_runtimes=("io.containerd.runc.v2", "runc"),
    )
    return replace(base, **changes)


def _finding(docker: DockerFacts, finding_id: str):
    from gpuwiz.backends.facts import RuntimeFacts

    facts = RuntimeFacts(docker=docker, containerd=None, crio=None, podman=None)
    return next(f for f in check_runtime(facts, None) if f.id == finding_id)


def test_a_restart_is_the_fix_only_when_docker_has_not_restarted_since_the_edit():
    stale = _finding(_docker(restarted_after_edit=False), "runtime.docker.not-applied")
    assert "restart" in (stale.fix or "")
    again = _finding(
        _docker(restarted_after_edit=True, other_configs=("/srv/docker/daemon.json",)), "runtime.docker.other-config"
    )
    assert "reads another file" in again.message and "/srv/docker/daemon.json" in again.message
    assert (
        "--config /srv/docker/daemon.json" in (again.fix or "") and "another restart alone changes nothing" in again.fix
    )
    drop_in = _finding(
        _docker(restarted_after_edit=True, unit_drop_ins=("/etc/systemd/system/docker.service.d/override.conf",)),
        "runtime.docker.other-config",
    )
    assert "override.conf" in drop_in.message


def test_the_probe_follows_containerds_c_flag():
    from gpuwiz.backends.machine.profile_host import ProfileHost
    from gpuwiz.backends.machine.profiles import load_profile
    from gpuwiz.backends.probes.runtime import probe_containerd

    profile = load_profile("k8s-no-gpu-support", {"HOME": "/nonexistent"})
    text = profile.files["/etc/containerd/config.toml"]
    files = {k: v for k, v in profile.files.items() if k != "/etc/containerd/config.toml"}
    files["/etc/containerd/config-kops.toml"] = text
    commands = dict(profile.commands)
    from gpuwiz.backends.machine.profiles import CommandAnswer

    commands["pgrep -a -x containerd"] = CommandAnswer(f"5187 {KOPS_ARGV}\n")
    kops = replace(profile, files=files, commands=commands, executables=(*profile.executables, "pgrep"))
    facts = probe_containerd(ProfileHost(kops))
    assert facts is not None and facts.config_path == "/etc/containerd/config-kops.toml"
    assert "nvidia" in facts.runtimes and "pid 5187" in facts.config_how


def test_kops_node_from_its_profile():
    """Rows 24 and 26 on a kops worker: containerd's -c file, and a node without kubeadm's files."""
    from gpuwiz.backends.doctor import run_doctor
    from gpuwiz.backends.machine.profile_host import ProfileHost
    from gpuwiz.backends.machine.profiles import load_profile

    report = run_doctor(ProfileHost(load_profile("kops-gpu-node", {"HOME": "/nonexistent"})))
    findings = {f.id: f for layer in report.layers for f in layer.findings}
    nvidia = findings["runtime.containerd.nvidia"]
    assert nvidia.status.value == "ok" and "/etc/containerd/config-kops.toml" in nvidia.message
    assert "containerd (pid 5187) -c" in nvidia.message
    cluster = findings["k8s.cluster"]
    assert cluster.status.value == "ok" and cluster.message.startswith("kops cluster")
    assert "k8s.runtimeclass" in findings and findings["k8s.runtimeclass"].status.value == "fail"


def test_runtime_configure_edits_the_file_the_daemon_reads():
    from gpuwiz.backends.configs.runtime_configure import ConfigureRequest, configure
    from gpuwiz.backends.machine.profile_host import ProfileHost
    from gpuwiz.backends.machine.profiles import load_profile

    host = ProfileHost(load_profile("kops-gpu-node", {"HOME": "/nonexistent"}))
    result = configure(host, ConfigureRequest("containerd", drop_in=""))
    assert result.edits == ()  # the nvidia runtime is there already, in config-kops.toml
