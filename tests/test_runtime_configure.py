"""`gpuwiz runtime configure`: the containerd, docker and CRI-O editors on real configs, judged by the real
containerd where it is installed (1.6 from Debian here; 2.x where .ci/install-system-deps.sh put it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gpuwiz.backends.configs.containerd_edit import (
    ContainerdFiles,
    RuntimeSettings,
    configure_drop_in,
    configure_in_place,
)
from gpuwiz.backends.configs.crio_edit import configure_crio
from gpuwiz.backends.configs.docker_edit import configure_docker
from gpuwiz.backends.configs.runtime_configure import ConfigureRequest, configure
from gpuwiz.backends.errors import InputError, UsageError
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile
from gpuwiz.backends.toml_compat import tomllib

DATA = Path(__file__).parent / "data" / "containerd"
BINARY = "/usr/bin/nvidia-container-runtime"
CONTAINERD2 = os.environ.get("GPUWIZ_CONTAINERD2", "/opt/gpuwiz-ci/containerd2/usr/bin/containerd")
CRI = {1: "cri", 2: "io.containerd.grpc.v1.cri", 3: "io.containerd.cri.v1.runtime"}


def data(name: str) -> str:
    return (DATA / name).read_text()


def runtimes(parsed: dict, version: int) -> dict:
    return parsed["plugins"][CRI[version]]["containerd"]["runtimes"]


def containerds() -> list[str]:
    found = []
    if shutil.which("containerd"):
        found.append(shutil.which("containerd"))
    if os.access(CONTAINERD2, os.X_OK):
        found.append(CONTAINERD2)
    return found


def dump(binary: str, config: Path) -> dict:
    done = subprocess.run(
        [binary, "--config", str(config), "config", "dump"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return tomllib.loads(done.stdout)


def major(binary: str) -> int:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    return 2 if "/v2 " in out or " 2." in out or " v2." in out else 1


# --- containerd: in place -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, version",
    [
        ("v2-default-containerd1.6.toml", 2),
        ("v2-default-containerd1.7.toml", 2),
        ("v3-default-containerd2.1.toml", 3),
        ("kubeadm-systemd-v2.toml", 2),
    ],
)
def test_in_place_adds_the_runtime_and_changes_nothing_else(name, version):
    text = data(name)
    edits = configure_in_place(ContainerdFiles("/etc/containerd/config.toml", text), RuntimeSettings())
    assert len(edits) == 1
    new = edits[0].new_text
    parsed = tomllib.loads(new)
    nvidia = runtimes(parsed, version)["nvidia"]
    runc = runtimes(parsed, version)["runc"]
    assert nvidia["runtime_type"] == "io.containerd.runc.v2"
    assert nvidia["options"]["BinaryName"] == BINARY
    assert nvidia["options"]["SystemdCgroup"] == runc["options"]["SystemdCgroup"]  # copied from the default
    # every line of the user's file is still there, in order: only additions
    removed = [line for line in edits[0].diff().splitlines() if line.startswith("-") and not line.startswith("---")]
    assert removed == []
    old_lines = text.splitlines()
    new_lines = new.splitlines()
    it = iter(new_lines)
    assert all(any(line == n for n in it) for line in old_lines), "a line of the original went missing or moved"
    # a second run changes nothing
    assert configure_in_place(ContainerdFiles("/etc/containerd/config.toml", new), RuntimeSettings()) == []


def test_comments_and_user_values_survive():
    edits = configure_in_place(
        ContainerdFiles("/etc/containerd/config.toml", data("kubeadm-systemd-v2.toml")), RuntimeSettings()
    )
    new = edits[0].new_text
    assert new.startswith("# Managed by hand on gpu-node-1")
    assert "SystemdCgroup = true  # kubelet uses the systemd cgroup driver" in new
    assert "# mirrors live in /etc/containerd/certs.d/<registry>/hosts.toml" in new
    nvidia = runtimes(tomllib.loads(new), 2)["nvidia"]
    assert nvidia["options"]["SystemdCgroup"] is True


def test_default_runtime_and_cdi():
    text = data("v3-default-containerd2.1.toml")
    edits = configure_in_place(
        ContainerdFiles("/etc/containerd/config.toml", text), RuntimeSettings(set_as_default=True, cdi=True)
    )
    parsed = tomllib.loads(edits[0].new_text)
    cri = parsed["plugins"]["io.containerd.cri.v1.runtime"]
    assert cri["containerd"]["default_runtime_name"] == "nvidia" and cri["enable_cdi"] is True
    assert "default_runtime_name = 'nvidia'" in edits[0].new_text  # the file's literal-string style kept
    removed = [ln for ln in edits[0].diff().splitlines() if ln.startswith("-") and not ln.startswith("---")]
    assert removed == ["-      default_runtime_name = 'runc'"]


def test_version_detection():
    # no version key: version 1, the CRI plugin is "cri" (containerd's own rule)
    v1 = configure_in_place(ContainerdFiles("c.toml", '[plugins.cri]\n  sandbox_image = "x"\n'), RuntimeSettings())
    assert "nvidia" in tomllib.loads(v1[0].new_text)["plugins"]["cri"]["containerd"]["runtimes"]
    # missing, empty or comments only: the installed containerd's version
    for text in (None, "", "# nothing yet\n"):
        new = configure_in_place(ContainerdFiles("c.toml", text, default_version=3), RuntimeSettings())[0].new_text
        assert tomllib.loads(new)["version"] == 3
        assert "nvidia" in runtimes(tomllib.loads(new), 3)
    # Docker's containerd.io config stays version 1: `version = 2` would make containerd refuse "cri"
    docker = configure_in_place(
        ContainerdFiles("c.toml", data("docker-containerd.io.toml"), default_version=2), RuntimeSettings()
    )
    parsed = tomllib.loads(docker[0].new_text)
    assert "version" not in parsed and parsed["disabled_plugins"] == ["cri"]
    assert "nvidia" in runtimes(parsed, 1)


def test_an_existing_nvidia_entry_is_updated_not_doubled():
    text = (
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]\n'
        "  privileged_without_host_devices = true # mine\n"
        '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia.options]\n'
        '    BinaryName = "/opt/old/nvidia-container-runtime"\n'
    )
    new = configure_in_place(ContainerdFiles("c.toml", text), RuntimeSettings())[0].new_text
    assert "privileged_without_host_devices = true # mine" in new
    assert (
        tomllib.loads(new)["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["nvidia"]["options"][
            "BinaryName"
        ]
        == BINARY
    )


@pytest.mark.parametrize(
    "text, line, key",
    [
        ("version = 2\n[plugins\n", 2, None),
        ('version = "2"\n', None, "version"),
        ('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\ncontainerd = "runc"\n', None, "containerd"),
        ("version = 2\nimports = 5\n", None, "imports"),
    ],
)
def test_malformed_configs_are_errors_naming_file_and_line(text, line, key):
    with pytest.raises(InputError) as err:
        configure_in_place(ContainerdFiles("/etc/containerd/config.toml", text), RuntimeSettings())
    assert err.value.path == "/etc/containerd/config.toml"
    assert err.value.line == line and err.value.key == key


# --- containerd: drop-in --------------------------------------------------------------------------


def test_drop_in_for_v2_carries_the_whole_cri_table():
    """containerd 1.x replaces a plugin's table with an imported file's: the drop-in keeps the user's CRI settings."""
    main = data("kubeadm-systemd-v2.toml")
    edits = configure_drop_in(
        ContainerdFiles("/etc/containerd/config.toml", main),
        "/etc/containerd/conf.d/99-nvidia.toml",
        None,
        RuntimeSettings(),
    )
    assert [e.path for e in edits] == ["/etc/containerd/config.toml", "/etc/containerd/conf.d/99-nvidia.toml"]
    assert tomllib.loads(edits[0].new_text)["imports"] == ["/etc/containerd/conf.d/*.toml"]
    drop = tomllib.loads(edits[1].new_text)
    cri = drop["plugins"]["io.containerd.grpc.v1.cri"]
    assert (
        cri["sandbox_image"] == "registry.k8s.io/pause:3.9"
        and cri["registry"]["config_path"] == "/etc/containerd/certs.d"
    )
    assert set(cri["containerd"]["runtimes"]) == {"runc", "nvidia"}
    # idempotent, and an import that already covers the drop-in is left alone
    again = configure_drop_in(
        ContainerdFiles(
            "/etc/containerd/config.toml",
            edits[0].new_text,
            (("/etc/containerd/conf.d/99-nvidia.toml", edits[1].new_text),),
        ),
        "/etc/containerd/conf.d/99-nvidia.toml",
        edits[1].new_text,
        RuntimeSettings(),
    )
    assert again == []


def test_drop_in_for_v3_holds_only_the_additions():
    edits = configure_drop_in(
        ContainerdFiles("/etc/containerd/config.toml", data("v3-default-containerd2.1.toml")),
        "/etc/containerd/conf.d/99-nvidia.toml",
        None,
        RuntimeSettings(set_as_default=True),
    )
    drop = tomllib.loads(edits[1].new_text)
    assert list(drop["plugins"]) == ["io.containerd.cri.v1.runtime"]
    assert drop["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["default_runtime_name"] == "nvidia"
    assert "pinned_images" not in edits[1].new_text and "cni" not in drop["plugins"]["io.containerd.cri.v1.runtime"]


def test_existing_imports_are_kept():
    main = 'version = 2\nimports = ["/etc/containerd/registries/*.toml"]\n'
    edits = configure_drop_in(
        ContainerdFiles("/etc/containerd/config.toml", main),
        "/etc/containerd/conf.d/99-nvidia.toml",
        None,
        RuntimeSettings(),
    )
    assert tomllib.loads(edits[0].new_text)["imports"] == [
        "/etc/containerd/registries/*.toml",
        "/etc/containerd/conf.d/*.toml",
    ]


# --- containerd: the real daemon judges -----------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize(
    "binary", containerds() or [pytest.param("containerd", marks=pytest.mark.skip("no containerd"))]
)
@pytest.mark.parametrize("mode", ["in-place", "drop-in"])
@pytest.mark.parametrize(
    "name",
    [
        "v2-default-containerd1.6.toml",
        "v2-default-containerd1.7.toml",
        "v3-default-containerd2.1.toml",
        "kubeadm-systemd-v2.toml",
        "docker-containerd.io.toml",
        "debian-bookworm-containerd.toml",
    ],
)
def test_real_containerd_accepts_the_result(tmp_path, binary, mode, name):
    text = data(name)
    version = tomllib.loads(text).get("version", 1)
    if version == 3 and major(binary) < 2:
        pytest.skip("containerd 1.x does not read version 3")
    if version == 1 and major(binary) >= 2:
        pytest.skip("containerd 2.x dropped version 1")
    main = tmp_path / "config.toml"
    drop_in = tmp_path / "conf.d" / "99-nvidia.toml"
    files = ContainerdFiles(str(main), text)
    settings = RuntimeSettings(set_as_default=True)
    edits = (
        configure_in_place(files, settings)
        if mode == "in-place"
        else configure_drop_in(files, str(drop_in), None, settings)
    )
    main.write_text(text)
    for edit in edits:
        Path(edit.path).parent.mkdir(parents=True, exist_ok=True)
        Path(edit.path).write_text(edit.new_text)
    real = dump(binary, main)
    if "cri" in tomllib.loads(text).get("disabled_plugins", []):
        return  # containerd drops a disabled plugin's section from its dump; that it loaded the file is the proof
    plugin = "io.containerd.cri.v1.runtime" if major(binary) >= 2 else "io.containerd.grpc.v1.cri"
    containerd = real["plugins"][plugin]["containerd"]
    assert containerd["default_runtime_name"] == "nvidia"
    assert containerd["runtimes"]["nvidia"]["options"]["BinaryName"] == BINARY
    assert "runc" in containerd["runtimes"], "the default runtime went missing (a drop-in replaced the CRI table)"
    if name == "kubeadm-systemd-v2.toml" and major(binary) < 2:
        assert real["plugins"][plugin]["sandbox_image"] == "registry.k8s.io/pause:3.9"
        assert containerd["runtimes"]["nvidia"]["options"]["SystemdCgroup"] is True


@pytest.mark.integration
@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("containerd") or not shutil.which("ctr"),
    reason="needs root, containerd and ctr",
)
def test_a_real_containerd_daemon_starts_with_the_edited_config(tmp_path):
    """containerd 1.6 as a daemon on a private socket, root and state: the CRI plugin loads with our config."""
    root, state, sock = tmp_path / "root", tmp_path / "state", tmp_path / "containerd.sock"
    text = data("kubeadm-systemd-v2.toml")
    text = text.replace('root = "/var/lib/containerd"', f'root = "{root}"').replace(
        'state = "/run/containerd"', f'state = "{state}"'
    )
    text = text.replace('address = "/run/containerd/containerd.sock"', f'address = "{sock}"')
    config = tmp_path / "config.toml"
    edits = configure_drop_in(
        ContainerdFiles(str(config), text),
        str(tmp_path / "conf.d" / "99-nvidia.toml"),
        None,
        RuntimeSettings(set_as_default=True),
    )
    config.write_text(text)
    for edit in edits:
        Path(edit.path).parent.mkdir(parents=True, exist_ok=True)
        Path(edit.path).write_text(edit.new_text)
    daemon = subprocess.Popen(
        ["containerd", "--config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        import time

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not sock.exists():
            time.sleep(0.2)
        plugins = subprocess.run(
            ["ctr", "--address", str(sock), "plugins", "ls"], capture_output=True, text=True, timeout=30
        )
        assert plugins.returncode == 0, plugins.stderr
        cri = [
            line for line in plugins.stdout.splitlines() if "io.containerd.grpc.v1" in line and " cri " in f" {line} "
        ]
        assert cri and cri[0].split()[-1] == "ok", plugins.stdout
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()


# --- docker ---------------------------------------------------------------------------------------


DAEMON_JSON = """{
  "registry-mirrors": ["https://mirror.gcr.io"],
  "insecure-registries": ["registry.lan:5000"],
  "log-driver": "json-file",
  "log-opts": {"max-size": "10m", "max-file": "3"},
  "features": {"buildkit": true, "containerd-snapshotter": true},
  "exec-opts": ["native.cgroupdriver=systemd"]
}
"""


def test_docker_keeps_every_key_and_other_features():
    edits = configure_docker(
        "/etc/docker/daemon.json",
        DAEMON_JSON,
        RuntimeSettings(path="nvidia-container-runtime", set_as_default=True, cdi=True),
    )
    new = json.loads(edits[0].new_text)
    assert new["features"] == {"buildkit": True, "containerd-snapshotter": True, "cdi": True}
    assert new["runtimes"] == {"nvidia": {"path": "nvidia-container-runtime", "args": []}}
    assert new["default-runtime"] == "nvidia"
    for key in ("registry-mirrors", "insecure-registries", "log-driver", "log-opts", "exec-opts"):
        assert new[key] == json.loads(DAEMON_JSON)[key]
    assert list(new)[:6] == list(json.loads(DAEMON_JSON))  # order kept, additions at the end
    assert edits[0].new_text.startswith('{\n  "registry-mirrors"')  # the file's two-space indent
    again = configure_docker(
        "/etc/docker/daemon.json",
        edits[0].new_text,
        RuntimeSettings(path="nvidia-container-runtime", set_as_default=True, cdi=True),
    )
    assert again == []


def test_docker_new_file_and_errors():
    new = configure_docker("/etc/docker/daemon.json", None, RuntimeSettings(path="nvidia-container-runtime"))[
        0
    ].new_text
    assert json.loads(new) == {"runtimes": {"nvidia": {"path": "nvidia-container-runtime", "args": []}}}
    with pytest.raises(InputError) as err:
        configure_docker("/etc/docker/daemon.json", '{\n  "log-driver": "json-file",\n}\n', RuntimeSettings())
    assert err.value.line == 3
    with pytest.raises(InputError, match="runtimes: must be a JSON object"):
        configure_docker("/etc/docker/daemon.json", '{"runtimes": []}', RuntimeSettings())
    with pytest.raises(InputError, match="top level must be a JSON object"):
        configure_docker("/etc/docker/daemon.json", "[]", RuntimeSettings())


DOCKERD = os.environ.get("GPUWIZ_DOCKERD", "/opt/gpuwiz-ci/dockerd/usr/sbin/dockerd")


def dockerd() -> str | None:
    return DOCKERD if os.access(DOCKERD, os.X_OK) else shutil.which("dockerd")


@pytest.mark.integration
@pytest.mark.skipif(dockerd() is None, reason="no dockerd (.ci/install-system-deps.sh unpacks trixie's)")
@pytest.mark.parametrize("text", [DAEMON_JSON, None, '{"log-driver": "journald"}'])
def test_real_dockerd_validates_the_result(tmp_path, text):
    out = tmp_path / "daemon.json"
    settings = RuntimeSettings(path="nvidia-container-runtime", set_as_default=True, cdi=True)
    out.write_text(configure_docker(str(out), text, settings)[0].new_text)
    binary = dockerd()
    env = {**os.environ, "PATH": f"{os.path.dirname(binary)}:{os.environ.get('PATH', '')}"}  # it wants docker-proxy
    done = subprocess.run([binary, "--validate", "--config-file", str(out)], capture_output=True, text=True, env=env)
    if "unknown flag: --validate" in done.stderr:
        pytest.skip("this dockerd has no --validate")
    assert done.returncode == 0, done.stderr
    assert "configuration OK" in done.stdout + done.stderr


# --- CRI-O ---------------------------------------------------------------------------------------


CRIO_CONF = """# CRI-O configuration (excerpt of the packaged crio.conf)
[crio.runtime]
default_runtime = "crun"

[crio.runtime.runtimes.crun]
runtime_path = "/usr/libexec/crio/crun"
runtime_root = "/run/crun"
monitor_path = "/usr/libexec/crio/conmon"
allowed_annotations = ["io.containers.trace-syscall"]
"""


def test_crio_drop_in_copies_the_default_runtime():
    edits = configure_crio(
        "/etc/crio/crio.conf.d/99-nvidia.toml",
        None,
        [("/etc/crio/crio.conf", CRIO_CONF)],
        RuntimeSettings(set_as_default=True),
    )
    drop = tomllib.loads(edits[0].new_text)
    nvidia = drop["crio"]["runtime"]["runtimes"]["nvidia"]
    assert nvidia == {
        "monitor_path": "/usr/libexec/crio/conmon",
        "allowed_annotations": ["io.containers.trace-syscall"],
        "runtime_path": BINARY,
        "runtime_type": "oci",
    }
    assert drop["crio"]["runtime"]["default_runtime"] == "nvidia"
    assert (
        configure_crio(
            "/etc/crio/crio.conf.d/99-nvidia.toml",
            edits[0].new_text,
            [("/etc/crio/crio.conf", CRIO_CONF)],
            RuntimeSettings(set_as_default=True),
        )
        == []
    )


# --- the command ----------------------------------------------------------------------------------


def gpuwiz(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gpuwiz", *args], capture_output=True, text=True, timeout=60)


def test_cli_dry_run_prints_files_and_changes_nothing(tmp_path, isolated_env):
    config = tmp_path / "config.toml"
    config.write_text(data("kubeadm-systemd-v2.toml"))
    before = config.stat().st_mtime_ns
    drop_in = tmp_path / "conf.d" / "99-nvidia.toml"
    done = gpuwiz(
        "runtime",
        "configure",
        "--runtime",
        "containerd",
        "--config",
        str(config),
        "--drop-in",
        str(drop_in),
        "--dry-run",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"# {config}\n")
    assert f"\n# {drop_in}\n" in done.stdout
    assert config.stat().st_mtime_ns == before and not drop_in.exists()


def test_cli_in_place_with_nvidia_ctk_spellings_then_nothing_to_change(tmp_path, isolated_env):
    config = tmp_path / "config.toml"
    config.write_text(data("v2-default-containerd1.7.toml"))
    config.chmod(0o600)
    args = [
        "runtime",
        "configure",
        "--runtime=containerd",
        f"--config={config}",
        "--drop-in-config=",
        "--nvidia-set-as-default",
        "--cdi.enabled=true",
    ]
    done = gpuwiz(*args)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "backup" in done.stdout and "systemctl restart containerd" in done.stdout
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    cri = tomllib.loads(config.read_text())["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["containerd"]["default_runtime_name"] == "nvidia" and cri["enable_cdi"] is True
    again = gpuwiz(*args)
    assert again.returncode == 0 and "nothing to change" in again.stdout


def test_cli_malformed_config_exit_2_file_untouched(tmp_path, isolated_env):
    config = tmp_path / "daemon.json"
    config.write_text('{"log-driver": "json-file",}\n')
    done = gpuwiz("runtime", "configure", "--config", str(config))
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"gpuwiz: {config}:1: not valid JSON: Expecting property name enclosed in double quotes (column 28)"
    )
    assert config.read_text() == '{"log-driver": "json-file",}\n'


def test_cli_usage_errors():
    done = gpuwiz("runtime", "configure", "--runtime", "docker", "--drop-in", "/etc/docker/x.json")
    assert done.returncode == 2 and "docker has no drop-in config" in done.stderr
    done = gpuwiz("runtime", "configure", "--runtime", "podman")
    assert done.returncode == 2


def test_k3s_is_never_edited_in_its_generated_config(profile_host):
    host: ProfileHost = profile_host("homelab-ready")
    generated = "/var/lib/rancher/k3s/agent/etc/containerd/config.toml"
    host.write_text(
        generated,
        'version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes."nvidia"]\n  runtime_type = "io.containerd.runc.v2"\n',
    )
    result = configure(
        host, ConfigureRequest("containerd", config=generated, settings=RuntimeSettings(set_as_default=True))
    )
    assert [e.path for e in result.edits] == ["/etc/rancher/k3s/config.yaml.d/99-nvidia.yaml"]
    assert "default-runtime: nvidia\n" in result.edits[0].new_text
    assert any("already added" in n for n in result.notes) and result.restart == "k3s"


def test_k3s_custom_template_gets_the_runtime_appended_go_lines_untouched(profile_host):
    host: ProfileHost = profile_host("homelab-ready")
    folder = "/var/lib/rancher/k3s/agent/etc/containerd"
    template = (
        'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n'
        "{{- if .NodeConfig.AgentConfig.Snapshotter }}\n"
        '  [plugins."io.containerd.grpc.v1.cri".containerd]\n    snapshotter = "{{ .NodeConfig.AgentConfig.Snapshotter }}"\n'
        "{{end}}\n"
    )
    host.write_text(f"{folder}/config.toml", "version = 2\n")
    host.write_text(f"{folder}/config.toml.tmpl", template)
    result = configure(host, ConfigureRequest("containerd", config=f"{folder}/config.toml"))
    assert [e.path for e in result.edits] == [f"{folder}/config.toml.tmpl"]
    new = result.edits[0].new_text
    assert new.startswith(template) and 'BinaryName = "/usr/bin/nvidia-container-runtime"' in new


def test_docker_on_a_profile_and_snap_path(profile_host):
    host = profile_host("dgx-h100x8")
    result = configure(host, ConfigureRequest("docker"))
    assert result.restart == "docker"
    with pytest.raises(UsageError):
        configure(host, ConfigureRequest("docker", drop_in="/etc/docker/daemon.d/x.json"))


def test_profiles_load(profile_host):
    assert load_profile("homelab-ready", {}).name == "homelab-ready"


# Keys of a runtime handler table and of [crio.runtime] as CRI-O documents them (crio.conf(5),
# github.com/cri-o/cri-o docs/crio.conf.5.md, "CRIO.RUNTIME TABLE" and "[crio.runtime.runtimes.runtime-handler]").
CRIO_HANDLER_KEYS = {
    "runtime_path",
    "runtime_type",
    "runtime_root",
    "runtime_config_path",
    "monitor_path",
    "monitor_cgroup",
    "monitor_env",
    "monitor_exec_cgroup",
    "privileged_without_host_devices",
    "allowed_annotations",
    "platform_runtime_paths",
    "container_min_memory",
    "no_sync_log",
    "default_annotations",
    "stream_websockets",
    "seccomp_profile",
    "exec_cpu_affinity",
    "container_create_timeout",
}
CRIO_RUNTIME_TYPES = {"oci", "vm", "pod"}


def test_crio_drop_in_follows_cri_os_documented_schema():
    edits = configure_crio(
        "/etc/crio/crio.conf.d/99-nvidia.toml",
        None,
        [("/etc/crio/crio.conf", CRIO_CONF)],
        RuntimeSettings(set_as_default=True),
    )
    data = tomllib.loads(edits[0].new_text)
    assert set(data) == {"crio"} and set(data["crio"]) == {"runtime"}
    runtime = data["crio"]["runtime"]
    assert set(runtime) == {"default_runtime", "runtimes"} and isinstance(runtime["default_runtime"], str)
    for handler in runtime["runtimes"].values():
        assert set(handler) <= CRIO_HANDLER_KEYS, set(handler) - CRIO_HANDLER_KEYS
        assert handler["runtime_type"] in CRIO_RUNTIME_TYPES
        assert handler["runtime_path"].startswith("/")


def test_microk8s_template_is_the_config(profile_host, tmp_path):
    """MicroK8s renders containerd.toml from its template at start: gpuwiz edits the template, placeholders kept."""
    host = profile_host("homelab-ready")
    template = data("microk8s-containerd-template.toml")
    path = "/var/snap/microk8s/current/args/containerd-template.toml"
    host.write_text(path, template)
    result = configure(host, ConfigureRequest("containerd"))
    assert result.restart == "snap.microk8s.daemon-containerd"
    (edit,) = result.edits
    assert edit.path == path
    assert "${SNAPSHOTTER}" in edit.new_text and 'default_runtime_name = "${RUNTIME}"' in edit.new_text
    removed = [ln for ln in edit.diff().splitlines() if ln.startswith("-") and not ln.startswith("---")]
    assert removed == []
    # filled in as MicroK8s does, the real containerd reads the nvidia runtime (and MicroK8s' own entries)
    rendered = (
        edit.new_text.replace("${SNAPSHOTTER}", "overlayfs")
        .replace("${RUNTIME_TYPE}", "io.containerd.runc.v2")
        .replace("${RUNTIME}", "runc")
        .replace("${SNAP_DATA}", str(tmp_path))
    )
    runtimes = tomllib.loads(rendered)["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
    assert runtimes["nvidia"]["options"]["BinaryName"] == BINARY and "nvidia-container-runtime" in runtimes
    if shutil.which("containerd"):
        config = tmp_path / "containerd.toml"
        config.write_text(rendered)
        real = dump(shutil.which("containerd"), config)
        assert "nvidia" in real["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]


def test_k3s_template_copied_from_k3s_gets_nvidia_from_k3s_itself(profile_host):
    """k3s' own template renders the runtimes k3s found through .ExtraRuntimes: appending one would duplicate it."""
    host = profile_host("homelab-ready")
    folder = "/var/lib/rancher/k3s/agent/etc/containerd"
    template = data("k3s-config.toml.tmpl")
    host.write_text(f"{folder}/config.toml", "version = 2\n")
    host.write_text(f"{folder}/config.toml.tmpl", template)
    result = configure(host, ConfigureRequest("containerd", config=f"{folder}/config.toml"))
    assert result.edits == () and any("adds the nvidia runtime" in n for n in result.notes)
    # without the ExtraRuntimes block (a trimmed copy) the runtime is appended; every template line stays
    trimmed = template[: template.index("{{range $k, $v := .ExtraRuntimes}}")]
    host.write_text(f"{folder}/config.toml.tmpl", trimmed)
    (edit,) = configure(host, ConfigureRequest("containerd", config=f"{folder}/config.toml")).edits
    assert edit.new_text.startswith(trimmed.rstrip("\n"))
    assert '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]' in edit.new_text


def test_no_runtimes_table_keeps_containerds_runc():
    """Debian's packaged config names no runtime: containerd 1.x would lose runc once the file names nvidia."""
    for mode in ("in-place", "drop-in"):
        files = ContainerdFiles("/etc/containerd/config.toml", data("debian-bookworm-containerd.toml"))
        if mode == "in-place":
            (edit,) = configure_in_place(files, RuntimeSettings())
        else:
            edit = configure_drop_in(files, "/etc/containerd/conf.d/99-nvidia.toml", None, RuntimeSettings())[1]
        runtimes = tomllib.loads(edit.new_text)["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
        assert runtimes["runc"] == {"runtime_type": "io.containerd.runc.v2"} and "nvidia" in runtimes, mode


DOTTED = """version = 2
# set by hand
plugins."io.containerd.grpc.v1.cri".containerd.default_runtime_name = "runc"
plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.runtime_type = "io.containerd.runc.v2"
plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options.SystemdCgroup = true
"""


def test_a_dotted_key_file_is_refused_in_place_and_served_by_a_drop_in(tmp_path):
    with pytest.raises(InputError, match="without moving other keys"):
        configure_in_place(ContainerdFiles("/etc/containerd/config.toml", DOTTED), RuntimeSettings())
    main = tmp_path / "config.toml"
    drop_in = tmp_path / "conf.d" / "99-nvidia.toml"
    edits = configure_drop_in(ContainerdFiles(str(main), DOTTED), str(drop_in), None, RuntimeSettings())
    assert tomllib.loads(edits[0].new_text) == {**tomllib.loads(DOTTED), "imports": [f"{tmp_path}/conf.d/*.toml"]}
    nvidia = tomllib.loads(edits[1].new_text)["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"][
        "nvidia"
    ]
    assert nvidia["options"]["SystemdCgroup"] is True
    if shutil.which("containerd"):
        main.write_text(edits[0].new_text)
        drop_in.parent.mkdir()
        drop_in.write_text(edits[1].new_text)
        real = dump(shutil.which("containerd"), main)["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
        assert real["runc"]["options"]["SystemdCgroup"] is True and "nvidia" in real
