"""`gpuwiz runtime configure`: the nvidia-ctk flags beyond the basic ones (--config-source, --config-mode
oci-hook, BOOL values), k3s templates named by --config, and runtimes whose type is not runc's shim."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gpuwiz.backends.configs.containerd_edit import ContainerdFiles, RuntimeSettings, configure_drop_in
from gpuwiz.backends.toml_compat import tomllib
from gpuwiz.cli import main

V2 = "io.containerd.grpc.v1.cri"
CONTAINERD = shutil.which("containerd")  # before the tests narrow PATH
BINARY = "/usr/bin/nvidia-container-runtime"
# runc on the legacy shim, as old kubeadm guides wrote it (containerd 1.x)
LEGACY_RUNC = f"""version = 2
[plugins."{V2}"]
  sandbox_image = "registry.k8s.io/pause:3.9"
  [plugins."{V2}".containerd]
    default_runtime_name = "runc"
    [plugins."{V2}".containerd.runtimes.runc]
      runtime_type = "io.containerd.runtime.v1.linux"
      [plugins."{V2}".containerd.runtimes.runc.options]
        BinaryName = "/usr/local/sbin/runc"
        SystemdCgroup = true
"""


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Run `gpuwiz runtime configure ARGS` here: PATH holds only tmp/bin (no containerd, crio or toolkit)."""
    (tmp_path / "bin").mkdir()
    for tool in ("sh", "cat"):
        if shutil.which(tool):
            (tmp_path / "bin" / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main(["runtime", "configure", *args])
        except SystemExit as exc:
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def stand_in(path: Path, prints: str) -> Path:
    """An executable that prints `prints` whatever it is asked (a containerd or crio that answers a dump)."""
    path.write_text(f"#!/bin/sh\ncat <<'EOF'\n{prints}EOF\n")
    path.chmod(0o755)
    return path


def cri(path: Path) -> dict:
    return tomllib.loads(path.read_text())["plugins"][V2]


# --- a base runtime that is not on a runc shim ----------------------------------------------------------


def test_drop_in_never_changes_the_users_runc_of_another_type(tmp_path):
    edits = configure_drop_in(
        ContainerdFiles(str(tmp_path / "config.toml"), LEGACY_RUNC),
        str(tmp_path / "conf.d/99-nvidia.toml"),
        None,
        RuntimeSettings(),
    )
    runtimes = tomllib.loads(edits[1].new_text)["plugins"][V2]["containerd"]["runtimes"]
    assert runtimes["runc"] == tomllib.loads(LEGACY_RUNC)["plugins"][V2]["containerd"]["runtimes"]["runc"]
    assert runtimes["nvidia"] == {
        "runtime_type": "io.containerd.runtime.v1.linux",
        "options": {"BinaryName": BINARY, "Runtime": BINARY, "SystemdCgroup": True},
    }


@pytest.mark.parametrize("runtime_type", ["", "io.containerd.runtime.v1.linux", "io.containerd.kata.v2"])
def test_in_place_copies_a_runtime_of_any_type(cli, tmp_path, runtime_type):
    config = tmp_path / "config.toml"
    config.write_text(LEGACY_RUNC.replace("io.containerd.runtime.v1.linux", runtime_type))
    code, _, err = cli("--runtime", "containerd", "--config", str(config), "--drop-in", "none")
    assert code == 0, err
    nvidia = cri(config)["containerd"]["runtimes"]["nvidia"]
    assert nvidia["options"]["SystemdCgroup"] is True and nvidia["options"]["BinaryName"] == BINARY
    legacy = runtime_type == "io.containerd.runtime.v1.linux"
    assert nvidia["runtime_type"] == (runtime_type if legacy else "io.containerd.runc.v2")
    assert ("Runtime" in nvidia["options"]) is legacy


@pytest.mark.integration
@pytest.mark.skipif(CONTAINERD is None, reason="no containerd")
def test_real_containerd_keeps_a_legacy_runc_through_the_drop_in(cli, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(LEGACY_RUNC)
    code, _, err = cli("--runtime", "containerd", "--config", str(config), "--drop-in", str(tmp_path / "d/99.toml"))
    assert code == 0, err
    done = subprocess.run([CONTAINERD, "--config", str(config), "config", "dump"], capture_output=True, text=True)
    runc = tomllib.loads(done.stdout)["plugins"][V2]["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runtime.v1.linux"
    assert runc["options"]["BinaryName"] == "/usr/local/sbin/runc" and runc["options"]["SystemdCgroup"] is True


def test_a_second_run_keeps_the_first_runs_default_and_entry(cli, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(LEGACY_RUNC)
    drop_in = tmp_path / "conf.d/99-nvidia.toml"
    base = ("--runtime", "containerd", "--config", str(config), "--drop-in", str(drop_in))
    assert cli(*base, "--set-as-default")[0] == 0
    assert cli(*base, "--runtime-name", "nvidia-cdi", "--runtime-path", f"{BINARY}.cdi")[0] == 0
    containerd = cri(drop_in)["containerd"]
    assert containerd["default_runtime_name"] == "nvidia"
    assert containerd["runtimes"]["nvidia"]["options"]["BinaryName"] == BINARY
    assert containerd["runtimes"]["nvidia-cdi"]["options"]["BinaryName"] == f"{BINARY}.cdi"


@pytest.mark.parametrize("runtime", ["containerd", "crio"])
def test_without_set_as_default_the_drop_in_names_no_default_of_this_runtime(cli, tmp_path, runtime):
    config, drop_in = tmp_path / "main.toml", tmp_path / "d" / "99-nvidia.toml"
    config.write_text(LEGACY_RUNC if runtime == "containerd" else "")
    base = ("--runtime", runtime, "--config", str(config), "--drop-in", str(drop_in))
    assert cli(*base, "--set-as-default")[0] == 0
    assert "nvidia" in drop_in.read_text().split("default_runtime", 1)[1].splitlines()[0]
    assert cli(*base)[0] == 0  # nvidia-ctk's meaning: the flag left out, this runtime is not the default
    if runtime == "crio":
        assert "default_runtime" not in drop_in.read_text()
    else:  # the copy of the CRI table carries config.toml's default again
        assert cri(drop_in)["containerd"]["default_runtime_name"] == "runc"


# --- --config-source command ----------------------------------------------------------------------------


def test_config_source_command_copies_from_containerds_own_view(cli, tmp_path):
    dumped = LEGACY_RUNC.replace("runtime.v1.linux", "runc.v2").replace("/usr/local/sbin/runc", "/opt/runc")
    exe = stand_in(tmp_path / "containerd", dumped)
    config = tmp_path / "config.toml"
    config.write_text("version = 2\n")
    args = ("--runtime", "containerd", "--config", str(config), "--drop-in", "none")
    code, _, err = cli(*args, "--config-source", "command", "--executable-path", str(exe))
    assert code == 0, err
    nvidia = cri(config)["containerd"]["runtimes"]["nvidia"]
    assert nvidia == {"runtime_type": "io.containerd.runc.v2", "options": {"BinaryName": BINARY, "SystemdCgroup": True}}


def test_config_source_command_of_containerd_2_reads_a_version_2_file_instead(cli, tmp_path):
    v3 = 'version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]\n  runtime_type = "x"\n'
    exe = stand_in(tmp_path / "containerd", v3)
    config = tmp_path / "config.toml"
    config.write_text(LEGACY_RUNC)
    args = ("--runtime", "containerd", "--config", str(config), "--drop-in", "none", "--config-source", "command")
    code, out, err = cli(*args, "--executable-path", str(exe))
    assert code == 0, err
    assert "config dump is version 3" in out
    assert cri(config)["containerd"]["runtimes"]["nvidia"]["runtime_type"] == "io.containerd.runtime.v1.linux"


def test_config_source_command_then_file_falls_back_and_command_alone_is_exit_2(cli, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(LEGACY_RUNC)
    args = ("--runtime", "containerd", "--config", str(config), "--drop-in", "none")
    code, out, _ = cli(*args, "--config-source", " command , file ", "--executable-path", "not-containerd")
    assert code == 0 and "not-containerd: not found" in out
    config.write_text(LEGACY_RUNC)
    code, _, err = cli(*args, "--config-source", "command", "--executable-path", "not-containerd", "--dry-run")
    assert code == 2 and err.count("\n") == 1 and "cannot read the config" in err
    assert cli(*args, "--config-source", "dump")[0] == 2


def test_config_source_command_for_crio(cli, tmp_path):
    stand_in(
        tmp_path / "bin" / "crio",
        '[crio.runtime]\ndefault_runtime = "crun"\n[crio.runtime.runtimes.crun]\n'
        'runtime_path = "/usr/bin/crun"\nruntime_type = "vm"\nmonitor_path = "/usr/libexec/crio/conmon"\n',
    )
    drop_in = tmp_path / "crio.conf.d/99-nvidia.toml"
    args = ("--runtime", "crio", "--config", str(tmp_path / "crio.conf"), "--drop-in", str(drop_in))
    code, _, err = cli(*args, "--config-source", "command")
    assert code == 0, err
    nvidia = tomllib.loads(drop_in.read_text())["crio"]["runtime"]["runtimes"]["nvidia"]
    assert nvidia == {"monitor_path": "/usr/libexec/crio/conmon", "runtime_path": BINARY, "runtime_type": "oci"}


# --- --config-mode oci-hook -------------------------------------------------------------------------------


def test_oci_hook_printed_written_and_refused(cli, tmp_path):
    code, out, _ = cli("--config-mode", "oci-hook", "--nvidia-runtime-hook-path", "/opt/nvidia/bin/hook")
    assert code == 0
    hook = json.loads(out)
    assert hook["hook"] == {
        "path": "/opt/nvidia/bin/hook",
        "args": ["hook", "prestart"],
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/nvidia/bin"],
    }
    path = tmp_path / "hooks.d" / "99-nvidia.json"
    assert cli("--config-mode", "hook", "--oci-hook-path", str(path))[0] == 0
    assert json.loads(path.read_text())["hook"]["path"] == "/usr/bin/nvidia-container-runtime-hook"
    code, out, _ = cli("--config-mode", "hook", "--oci-hook-path", str(path))
    assert code == 0 and "nothing to change" in out
    code, _, err = cli("--config-mode", "oci-hook", "--nvidia-runtime-hook-path", "hook")
    assert code == 2 and "absolute path" in err


def test_bool_flags_take_a_value(cli, tmp_path):
    config = tmp_path / "daemon.json"
    code, out, _ = cli("--config", str(config), "--dry-run=true", "--set-as-default=false")
    assert code == 0 and not config.exists()
    assert json.loads(out.split("\n", 1)[1]) == {
        "runtimes": {"nvidia": {"path": "nvidia-container-runtime", "args": []}}
    }
    assert cli("--config", str(config), "--dry-run=maybe")[0] == 2


# --- k3s / RKE2 templates named by --config -------------------------------------------------------------

TEMPLATE = (
    'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n'
    "{{- if .NodeConfig.AgentConfig.Snapshotter }}\n"
    '  [plugins."io.containerd.grpc.v1.cri".containerd]\n'
    '    snapshotter = "{{ .NodeConfig.AgentConfig.Snapshotter }}"\n'
    "{{end}}\n"
)


@pytest.mark.parametrize("name", ["config.toml.tmpl", "containerd-custom.tmpl"])
def test_a_template_outside_var_lib_rancher_is_known_by_name_and_content(cli, tmp_path, name):
    template = tmp_path / "staging" / name
    template.parent.mkdir()
    template.write_text(TEMPLATE)
    code, _, err = cli("--runtime", "containerd", "--config", str(template))
    assert code == 0, err
    new = template.read_text()
    assert new.startswith(TEMPLATE)
    assert f'[plugins."{V2}".containerd.runtimes.nvidia]' in new and f'BinaryName = "{BINARY}"' in new
    assert not os.path.exists(tmp_path / "staging" / "conf.d")
