"""What a plan changes (backends/runs/plan_summary), shared steps kept once (planners/registry), and
Kubernetes manifests shown as YAML — on the plans of shipped profiles."""

from __future__ import annotations

import json

import pytest
import yaml

from gpuwiz.backends.doctor import run_doctor
from gpuwiz.backends.findings import Layer
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile
from gpuwiz.backends.planners.registry import build_plan, shared_once
from gpuwiz.backends.runs.plan import FileEdit, Plan, Step
from gpuwiz.backends.runs.plan_summary import (
    CommandWrite,
    render_summary_text,
    render_text,
    shown_diff,
    summarize,
    summary_rows,
    to_yaml,
)
from gpuwiz.cli import main

ENV = {"HOME": "/nonexistent"}
CUDA_CONTAINERD = {"driver.method": "cuda-repo", "runtime.install": "containerd"}


def plan_of(profile: str, selections: dict[str, str] | None = None, **kwargs) -> Plan:
    return build_plan(run_doctor(ProfileHost(load_profile(profile, ENV))), selections or {}, **kwargs)


def test_fresh_rtx3060_cuda_repo_with_containerd():
    summary = summarize(plan_of("fresh-rtx3060", CUDA_CONTAINERD))
    created = [f.path for f in summary.created]
    assert "/etc/modprobe.d/gpuwiz-blacklist-nouveau.conf" in created
    assert "/etc/apt/sources.list.d/cuda-ubuntu2204-x86_64.list" in created
    assert "/etc/containerd/config.toml" in created
    assert not summary.edited
    assert summary.installed == (
        "curl",
        "gpg",
        "ca-certificates",
        "cuda-drivers-535",
        "nvidia-container-toolkit",
        "nvidia-container-toolkit-base",
        "libnvidia-container-tools",
        "libnvidia-container1",
        "containerd",
    )
    assert summary.held == ("cuda-drivers-535",)
    assert summary.restarted == ("containerd",)
    assert summary.reboot and not summary.removed
    blacklist = next(f for f in summary.files if f.path.endswith("blacklist-nouveau.conf"))
    assert blacklist.diff.startswith("--- /dev/null\n+++ /etc/modprobe.d/gpuwiz-blacklist-nouveau.conf")
    assert "+blacklist nouveau" in blacklist.diff


def test_rocky9_l4_dnf():
    summary = summarize(plan_of("rocky9-l4"))
    assert [f.path for f in summary.created] == [
        "/etc/yum.repos.d/cuda-rhel9.repo",
        "/etc/yum.repos.d/nvidia-container-toolkit.repo",
    ]
    assert "nvidia-open" in summary.installed and "python3-dnf-plugin-versionlock" in summary.installed
    assert "kernel-devel-5.14.0-503.26.1.el9_5.x86_64" in summary.installed
    assert "-y" not in summary.installed  # options are not packages
    assert summary.held == ("*nvidia*610*",)  # dnf versionlock add
    assert summary.reboot


def test_k8s_no_gpu_support_manifests_and_chart():
    summary = summarize(plan_of("k8s-no-gpu-support"))
    paths = [f.path for f in summary.created]
    assert paths == ["/var/lib/gpuwiz/k8s/runtimeclass.json", "/var/lib/gpuwiz/k8s/gpuwiz-nvidia-smi.json"]
    assert summary.applied == tuple(paths)
    assert summary.charts and summary.charts[0].startswith("nvdp (nvdp/nvidia-device-plugin ")
    assert not summary.installed and not summary.reboot
    job = summary.files[1]
    assert "+kind: Job" in job.diff and "(as YAML; written as JSON)" in job.diff


def test_an_edited_file_removed_packages_and_services():
    plan = Plan(
        (
            Step("t.edit", "Edit", Layer.RUNTIME, edit=FileEdit("/etc/x.conf", "a = 2\n", "a = 1\n"), restarts=("x",)),
            Step("t.edit2", "Edit again", Layer.RUNTIME, edit=FileEdit("/etc/x.conf", "a = 3\n", "a = 2\n")),
            Step(
                "t.purge",
                "Purge",
                Layer.DRIVER,
                argv=("env", "A=1", "apt-get", "purge", "-y", "-o", "X=1", "old-a", "old-b"),
            ),
            Step("t.inst", "Install", Layer.DRIVER, argv=("apt-get", "install", "-y", "new", "gone-")),
            Step("t.en", "Enable", Layer.RUNTIME, argv=("systemctl", "enable", "--now", "docker")),
            Step("t.stop", "Stop", Layer.RUNTIME, argv=("systemctl", "disable", "k3s")),
            Step("t.mod", "Module", Layer.DRIVER, argv=("dnf", "-y", "module", "install", "nvidia-driver:610-dkms")),
        )
    )
    summary = summarize(plan)
    (change,) = summary.edited
    assert change.steps == ("t.edit", "t.edit2")
    assert "-a = 1" in change.diff and "+a = 3" in change.diff and "a = 2" not in change.diff
    assert summary.removed == ("old-a", "old-b", "gone")
    assert summary.installed == ("new", "@nvidia-driver:610-dkms")
    assert summary.restarted == ("x",) and summary.enabled == ("docker",) and summary.started == ("docker",)
    assert summary.stopped == ("k3s",)
    text = render_summary_text(summary)
    assert text.startswith("Changes: 1 file edited, 2 packages installed, 3 packages removed, 1 service restarted")


def test_shared_steps_appear_once_in_a_whole_machine_plan():
    alone = plan_of("fresh-rtx3060", CUDA_CONTAINERD, layers_alone=True)
    once = plan_of("fresh-rtx3060", CUDA_CONTAINERD)
    assert (len(alone.steps), len(once.steps)) == (33, 30)
    assert once == shared_once(alone)
    titles = [s.title for s in once.steps]
    for shared in (
        "Install curl and gpg (to fetch and check the repository key)",
        "Make sure /usr/share/keyrings exists",
    ):
        assert titles.count(shared) == 1
        assert next(s for s in once.steps if s.title == shared).layer is Layer.DRIVER  # the first place
    # a refresh after the toolkit's repository was added is a different step: its lists are new
    assert [s.layer for s in once.steps if s.argv == ("apt-get", "update")] == [Layer.DRIVER, Layer.TOOLKIT]
    order = [s.id for s in alone.steps]
    assert [order.index(s.id) for s in once.steps] == sorted(order.index(s.id) for s in once.steps)


def test_repeats_within_a_layer_stay():
    """A planner that repeats a command within its layer means it (a test job deleted before and
    after it runs); only a later layer's repeat of an earlier layer's step is shared."""
    delete = ("kubectl", "delete", "job", "t", "--ignore-not-found")
    first = Step("k8s.delete-before", "Delete", Layer.K8S, argv=delete)
    run = Step("k8s.run", "Run", Layer.K8S, argv=("kubectl", "apply", "-f", "/x.json"))
    again = Step("k8s.delete-after", "Delete", Layer.K8S, argv=delete)
    assert shared_once(Plan((first, run, again))).steps == (first, run, again)


def test_refresh_repeated_right_after_is_dropped_but_not_after_other_steps():
    update = ("apt-get", "update")
    a = Step("driver.u", "Refresh", Layer.DRIVER, argv=update)
    b = Step("toolkit.u", "Refresh", Layer.TOOLKIT, argv=update)
    edit = Step("toolkit.repo", "Repo", Layer.TOOLKIT, edit=FileEdit("/etc/apt/sources.list.d/x.list", "deb x\n"))
    assert shared_once(Plan((a, b))).steps == (a,)
    assert shared_once(Plan((a, edit, b))).steps == (a, edit, b)


def test_plan_text_and_apply_end_with_the_summary(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    plan = plan_of("fresh-rtx3060")
    text = render_text(plan)
    assert text.rstrip("\n").endswith(render_summary_text(summarize(plan)).rstrip("\n"))
    assert main(["--profile", "fresh-rtx3060", "plan", "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert "\nChanges: 4 files created, 4 files written by commands, 2 directories created, 9 packages installed" in out
    assert "  write     /etc/cdi/nvidia.yaml" not in out  # fresh-rtx3060's docker takes no CDI spec
    assert "  write     /usr/share/keyrings/nvidia-container-toolkit-keyring.gpg  (by gpg --export)" in out
    assert main(["--profile", "fresh-rtx3060", "apply", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.index("Changes: ") < out.index("dry run: nothing was changed")


@pytest.mark.parametrize("selections", [{}, CUDA_CONTAINERD])
def test_plan_json_and_apply_agree_after_dedup(capsys, tmp_path, monkeypatch, selections):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    answers = tmp_path / "a.toml"
    answers.write_text("".join(f'[{k.split(".")[0]}]\n{k.split(".")[1]} = "{v}"\n' for k, v in selections.items()))
    assert main(["--profile", "fresh-rtx3060", "plan", "--format", "json", "--answers", str(answers)]) == 0
    steps = json.loads(capsys.readouterr().out)["steps"]
    assert main(["--profile", "fresh-rtx3060", "apply", "--yes", "--answers", str(answers)]) in (0, 4)
    out = capsys.readouterr().out.split("(simulated machine", 1)[0]
    ran = [line.split("] ", 1)[1] for line in out.splitlines() if line.startswith("[") and "] " in line]
    reboot_at = next(i for i, s in enumerate(steps) if s["reboot"])
    assert ran == [f"{s['layer']}: {s['title']}" for s in steps][: reboot_at + 1]


def test_yaml_reads_back_as_the_manifest():
    from gpuwiz.backends.planners.k8s_manifests import gpu_test_job, runtime_class

    tricky = {
        "a": "yes",
        "b": "1.17",
        "c": "x: y",
        "d": "",
        "e": None,
        "f": [],
        "g": {},
        "h": [[1, 2], {"k": True}],
        "i": "#no",
    }
    for data in (
        runtime_class(),
        gpu_test_job("node3", "docker.io/nvidia/cuda:12.2.2-base-ubuntu22.04", tolerate_gpu_taint=True),
        tricky,
    ):
        assert yaml.safe_load(to_yaml(data)) == data


def test_only_kubernetes_manifests_become_yaml():
    manifest = FileEdit("/var/lib/gpuwiz/k8s/x.json", json.dumps({"apiVersion": "v1", "kind": "Namespace"}) + "\n")
    assert "+apiVersion: v1\n+kind: Namespace" in shown_diff(manifest)
    daemon = FileEdit("/etc/docker/daemon.json", '{"runtimes": {}}\n')
    assert shown_diff(daemon) == daemon.diff()


def step(argv: str, n: int = 0) -> Step:
    return Step(f"t.s{n}", "t", Layer.RUNTIME, argv=tuple(argv.split()))


@pytest.mark.parametrize(
    "argv, path, command",
    [
        ("nvidia-ctk runtime configure --runtime=docker", "/etc/docker/daemon.json", "nvidia-ctk runtime configure"),
        ("nvidia-ctk runtime configure --runtime=containerd", "/etc/containerd/config.toml", "nvidia-ctk runtime"),
        ("nvidia-ctk runtime configure --runtime crio", "/etc/crio/crio.conf", "nvidia-ctk runtime"),
        ("nvidia-ctk runtime configure --runtime=docker --config=/srv/d.json", "/srv/d.json", "nvidia-ctk runtime"),
        ("nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml", "/etc/cdi/nvidia.yaml", "nvidia-ctk cdi generate"),
        ("nvidia-ctk cdi generate --output /var/run/cdi/n.yaml", "/var/run/cdi/n.yaml", "nvidia-ctk cdi generate"),
        ("nvidia-ctk config --in-place --set a=b", "/etc/nvidia-container-runtime/config.toml", "nvidia-ctk config"),
        ("sudo tee /etc/apt/sources.list.d/x.list", "/etc/apt/sources.list.d/x.list", "tee"),
        ("tee -a /etc/modules-load.d/n.conf", "/etc/modules-load.d/n.conf", "tee -a"),
        ("gpg --dearmor -o /usr/share/keyrings/k.gpg", "/usr/share/keyrings/k.gpg", "gpg --dearmor"),
        ("gpg --batch --yes --dearmor --output=/k.gpg /k.asc", "/k.gpg", "gpg --dearmor"),
        ("curl -fsSL -o /tmp/k.asc https://x/k", "/tmp/k.asc", "curl"),
        ("curl -fsSL --output /tmp/k.asc https://x/k", "/tmp/k.asc", "curl"),
        ("wget -qO /tmp/k.asc https://x/k", None, ""),  # -qO is two flags: no guessing at a value
        ("wget -O /tmp/k.asc https://x/k", "/tmp/k.asc", "wget"),
        ("install -d -m 0700 /var/lib/gpuwiz/keys", "/var/lib/gpuwiz/keys", "install -d"),
        ("install -m 0644 /tmp/a /etc/b", "/etc/b", "install"),
        ("cp /tmp/a /etc/b", "/etc/b", "cp"),
        ("update-initramfs -u -k 6.8.0-1", "/boot/initrd.img-6.8.0-1", "update-initramfs"),
    ],
)
def test_files_that_commands_write(argv, path, command):
    summary = summarize(Plan((step(argv),)))
    if path is None:
        assert not summary.written
        return
    assert [w.path for w in summary.written] == [path]
    assert summary.written[0].command.startswith(command) and summary.written[0].step == "t.s0"
    label = "mkdir" if summary.written[0].directory else "write"
    assert (label, f"{path}  (by {summary.written[0].command})") in summary_rows(summary)


def test_command_writes_are_not_guessed_from_free_text_or_dry_runs():
    plan = Plan(
        (
            step("nvidia-ctk runtime configure --runtime=docker --dry-run", 1),
            step("sh -c echo>/etc/x", 2),
            step("nvidia-ctk cdi list", 3),
            step("dpkg -i /tmp/cuda-keyring.deb", 4),
        )
    )
    summary = summarize(plan)
    assert summary.written == ()
    assert summary.installed == ("/tmp/cuda-keyring.deb",)


def test_a_file_a_step_edits_is_listed_once_with_its_diff():
    edit = Step("t.edit", "t", Layer.RUNTIME, edit=FileEdit("/etc/docker/daemon.json", "{}\n"))
    summary = summarize(Plan((edit, step("nvidia-ctk runtime configure --runtime=docker", 1))))
    assert [f.path for f in summary.files] == ["/etc/docker/daemon.json"] and not summary.written


def _profiles() -> list[str]:
    from gpuwiz.backends.machine.profiles import available_profiles

    return [name for name, _ in available_profiles(ENV)]


@pytest.mark.parametrize("profile", _profiles())
def test_every_profiles_whole_plan_lists_every_file_its_commands_write(profile):
    """Each step whose argv names a file it writes (an option like -o/--output, tee's operands, a
    runtime's config) shows in the summary with its path, once, after the files gpuwiz writes."""
    plan = plan_of(profile)
    summary = summarize(plan)
    for s in plan.steps:
        if not s.argv:
            continue
        words = [w for w in s.argv if w not in ("env", "sudo") and "=" not in w.split("-", 1)[0]]
        named = []
        if words[0] in ("curl", "gpg", "nvidia-ctk"):
            named += [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-o", "--output")]
            named += [w.split("=", 1)[1] for w in words if w.startswith("--output=")]
        if "tee" in words:
            named += [w for w in words[words.index("tee") + 1 :] if not w.startswith("-")]
        if words[:3] == ["nvidia-ctk", "runtime", "configure"] and "--dry-run" not in words:
            named.append(next((w.split("=", 1)[1] for w in words if w.startswith("--config=")), "?"))
        for path in named:
            assert path in {w.path for w in summary.written} | {f.path for f in summary.files}, (s.id, path)
    paths = [w.path for w in summary.written]
    assert len(paths) == len(set(paths))
    assert not set(paths) & {f.path for f in summary.files}
    kinds = [label for label, _ in summary_rows(summary)]
    file_rows = [n for n, label in enumerate(kinds) if label in ("create", "edit", "write", "mkdir")]
    assert file_rows == list(range(len(file_rows)))  # the files first, then packages and services
    text = render_summary_text(summary)
    for w in summary.written:
        assert w.path in text
    assert all(isinstance(w, CommandWrite) for w in summary.written)
