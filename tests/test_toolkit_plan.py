"""The container toolkit planner: NVIDIA's signed repository, stale sources, install, proof; apt judges the lists."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from gpuwiz.backends.doctor import run_doctor
from gpuwiz.backends.planners.registry import build_plan, load_backends
from gpuwiz.backends.planners.toolkit import disabled_source

LIST = "/etc/apt/sources.list.d/nvidia-container-toolkit.list"
STALE = (
    "deb https://nvidia.github.io/libnvidia-container/stable/ubuntu18.04/$(ARCH) /\n"
    "deb https://nvidia.github.io/nvidia-container-runtime/stable/ubuntu18.04/$(ARCH) /\n"
    "deb https://nvidia.github.io/nvidia-docker/ubuntu18.04/$(ARCH) /\n"
)


def toolkit_steps(plan):
    return [s for s in plan.steps if s.layer.value == "toolkit"]


def test_registered():
    assert any(p.name == "toolkit" for p in load_backends("planner"))


def test_fresh_machine_gets_key_repo_install_and_proof(profile_host):
    steps = toolkit_steps(build_plan(run_doctor(profile_host("fresh-rtx3060"))))
    assert [s.id for s in steps] == [
        "toolkit.key-tools",
        "toolkit.key-workdir",
        "toolkit.key-download",
        "toolkit.key-dearmor",
        "toolkit.key-check",
        "toolkit.key-dir",
        "toolkit.key-install",
        "toolkit.apt-source",
        "toolkit.apt-update",
        "toolkit.install",
        "toolkit.verify-ctk",
    ]
    by_id = {s.id: s for s in steps}
    assert by_id["toolkit.key-download"].argv[-1] == "https://nvidia.github.io/libnvidia-container/gpgkey"
    assert by_id["toolkit.key-check"].argv[-1] == "C95B321B61E88C1809C4F759DDCAE044F796ECB0"
    assert by_id["toolkit.apt-source"].edit.new_text.endswith(
        "deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] "
        "https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /\n"
    )
    assert by_id["toolkit.install"].argv[-4:] == (
        "nvidia-container-toolkit",
        "nvidia-container-toolkit-base",
        "libnvidia-container-tools",
        "libnvidia-container1",
    )
    assert not any("apt-key" in " ".join(s.argv or ()) for s in steps)


def test_a_chosen_version_pins_all_four_packages(profile_host):
    steps = toolkit_steps(build_plan(run_doctor(profile_host("fresh-rtx3060")), {"toolkit.version": "1.17.8-1"}))
    install = next(s for s in steps if s.id == "toolkit.install")
    assert install.argv[-4:] == (
        "nvidia-container-toolkit=1.17.8-1",
        "nvidia-container-toolkit-base=1.17.8-1",
        "libnvidia-container-tools=1.17.8-1",
        "libnvidia-container1=1.17.8-1",
    )


def test_healthy_toolkit_gets_nothing(profile_host):
    assert toolkit_steps(build_plan(run_doctor(profile_host("homelab-ready")))) == []


def test_outdated_url_is_rewritten(profile_host):
    report = run_doctor(profile_host("laptop-mx150"))
    assert "toolkit.outdated-source" in {f.id for f in report.layer(report.layers[2].layer).findings}
    steps = toolkit_steps(build_plan(report))
    source = next(s for s in steps if s.id == "toolkit.apt-source").edit
    assert "stable/ubuntu18.04" in source.old_text and "stable/deb/$(ARCH) /" in source.new_text
    assert "toolkit.install" not in [s.id for s in steps]  # installed: only the repository is mended


def test_stale_lists_are_switched_off_not_deleted(profile_host):
    host = profile_host("homelab-ready")
    host.write_text("/etc/apt/sources.list.d/nvidia-docker.list", STALE)
    report = run_doctor(host)
    steps = toolkit_steps(build_plan(report))
    assert [s.id for s in steps] == ["toolkit.disable-source-1"]
    edit = steps[0].edit
    assert edit.path == "/etc/apt/sources.list.d/nvidia-docker.list" and edit.old_text == STALE
    assert all(line.startswith("#") for line in edit.new_text.splitlines())


def test_deb822_stale_source_gets_enabled_no():
    text = "Types: deb\nURIs: https://nvidia.github.io/libnvidia-container/stable/deb/amd64\nSuites: /\n"
    out = disabled_source("/etc/apt/sources.list.d/old-nvidia.sources", text)
    assert out.splitlines()[-1] == "Enabled: no"


def test_rhel_gets_the_dnf_repository(profile_host):
    steps = toolkit_steps(build_plan(run_doctor(profile_host("rocky9-l4"))))
    repo = next(s for s in steps if s.id == "toolkit.dnf-repo").edit
    assert repo.path == "/etc/yum.repos.d/nvidia-container-toolkit.repo"
    assert "baseurl=https://nvidia.github.io/libnvidia-container/stable/rpm/$basearch\n" in repo.new_text
    assert "repo_gpgcheck=1\ngpgcheck=0\n" in repo.new_text  # NVIDIA signs the metadata, not the packages
    assert "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-nvidia-container-toolkit\n" in repo.new_text
    assert "--armor" in next(s for s in steps if s.id == "toolkit.key-install").argv
    assert next(s for s in steps if s.id == "toolkit.install").argv[:3] == ("dnf", "-y", "install")


@pytest.mark.integration
@pytest.mark.skipif(not shutil.which("apt-get"), reason="needs apt-get")
def test_real_apt_sees_the_signed_by_conflict_and_our_fix_ends_it(tmp_path, profile_host):
    """apt itself reads the lists (no network: --print-uris)."""
    host = profile_host("homelab-ready")
    stale = "deb [signed-by=/usr/share/keyrings/nvidia-docker.gpg] https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /\n"
    host.write_text("/etc/apt/sources.list.d/libnvidia-container.list", stale)
    steps = toolkit_steps(build_plan(run_doctor(host)))
    parts = tmp_path / "sources.list.d"
    parts.mkdir()
    (parts / "nvidia-container-toolkit.list").write_text(host.read_text(LIST))
    (parts / "libnvidia-container.list").write_text(stale)
    (tmp_path / "lists" / "partial").mkdir(parents=True)

    def apt_reads() -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                "apt-get",
                "-o",
                "Dir::Etc::SourceList=/dev/null",
                "-o",
                f"Dir::Etc::SourceParts={parts}",
                "-o",
                f"Dir::State::Lists={tmp_path / 'lists'}",
                "--print-uris",
                "update",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )

    before = apt_reads()
    assert before.returncode != 0 and "Conflicting values set for option Signed-By" in before.stderr
    (parts / "libnvidia-container.list").write_text(steps[0].edit.new_text)
    after = apt_reads()
    assert after.returncode == 0, after.stderr
    assert "libnvidia-container/stable/deb/" in after.stdout and "/InRelease" in after.stdout
