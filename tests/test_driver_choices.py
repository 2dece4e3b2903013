"""Driver choices (method, branch, flavour, edition, keep/remove), answers selections, and the CUDA repository method."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from gpuwiz.backends.doctor import diagnose, run_doctor
from gpuwiz.backends.errors import InputError
from gpuwiz.backends.facts import OsInfo
from gpuwiz.backends.planners.choices import selections_from_answers
from gpuwiz.backends.planners.registry import build_plan, offered_choices
from gpuwiz.backends.probes import probe_all
from gpuwiz.backends.runs.plan import render_sh

DATA = Path(__file__).parent / "data" / "apt"
BOOKWORM = OsInfo("debian", "12", "Debian GNU/Linux 12 (bookworm)", (), "bookworm")


def ids(plan):
    """The driver layer's steps (the toolkit's and others' have their own tests)."""
    return [s.id for s in plan.steps if s.layer.value == "driver"]


def by_key(choices):
    return {c.key: c for c in choices}


def debian_report(profile_host, os=BOOKWORM):
    facts = probe_all(profile_host("fresh-rtx3060"))
    text = (DATA / "debian.sources").read_text().replace("bookworm", os.codename)
    sources = (("/etc/apt/sources.list.d/debian.sources", text),)
    hw = replace(facts.hardware, os=os)
    driver = replace(facts.driver, ubuntu_drivers=None, apt_sources=sources)
    return diagnose(replace(facts, hardware=hw, driver=driver))


def test_fresh_ubuntu_workstation_offers_method_branch_flavour_edition(profile_host):
    choices = by_key(offered_choices(run_doctor(profile_host("fresh-rtx3060"))))
    assert [k for k in choices if k.startswith("driver.")] == [
        "driver.method",
        "driver.branch",
        "driver.flavour",
        "driver.edition",
    ]
    assert choices["driver.method"].values == ("ubuntu-drivers", "cuda-repo")
    assert choices["driver.method"].recommended == "ubuntu-drivers"
    branch = choices["driver.branch"]
    assert branch.recommended == "535" and "Ubuntu's own recommendation" in branch.reason
    assert branch.values[0] == "610"  # newest first, every branch that drives an RTX 3060
    assert "repo only" in branch.option("610").note and "repo only" not in branch.option("535").note
    assert choices["driver.flavour"].recommended == "proprietary"  # R535 predates open-by-default
    assert choices["driver.edition"].recommended == "desktop"


def test_installed_driver_offers_keep_or_remove_with_a_confirmation(profile_host):
    choices = [c for c in offered_choices(run_doctor(profile_host("homelab-ready"))) if c.layer.value == "driver"]
    assert [c.key for c in choices] == ["driver.action"]
    remove = choices[0].option("remove")
    assert remove.confirm and "Remove the NVIDIA driver" in remove.confirm
    assert choices[0].recommended == "keep"


def test_remove_purges_the_installed_packages(profile_host):
    report = run_doctor(profile_host("homelab-ready"))
    assert build_plan(report, {}).steps == ()
    plan = build_plan(report, {"driver.action": "remove"})
    assert ids(plan)[:2] == ["driver.purge-packages", "driver.autoremove"]
    purge = plan.steps[0].argv
    assert purge[:4] == ("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "purge")
    assert "--allow-change-held-packages" in purge
    assert any(a.startswith("nvidia-driver-") for a in purge)
    assert plan.needs_reboot


def test_blackwell_offers_only_open_modules(profile_host):
    facts = probe_all(profile_host("blackwell-proprietary"))
    driver = replace(facts.driver, packages=(), run_installer=False)
    flavour = by_key(offered_choices(diagnose(replace(facts, driver=driver))))["driver.flavour"]
    assert flavour.values == ("open",) and "Blackwell" in flavour.reason


def test_chosen_branch_edition_flavour_reach_ubuntu_drivers(profile_host):
    report = run_doctor(profile_host("fresh-rtx3060"))
    plan = build_plan(report, {"driver.edition": "server", "driver.flavour": "open"})
    install = next(s for s in plan.steps if s.id == "driver.install")
    assert install.argv[-1] == "nvidia:535-server-open"
    # a branch Ubuntu does not offer ("repo only") comes from NVIDIA's repository, said in a note
    plan = build_plan(report, {"driver.branch": "590"}, source="choices")
    assert "driver.cuda-repo-source" in ids(plan)
    assert any("NVIDIA CUDA repo: Ubuntu offers no R590" in n.text for n in plan.notes)


def test_cuda_repository_on_ubuntu(profile_host):
    report = run_doctor(profile_host("fresh-rtx3060"))
    plan = build_plan(report, {"driver.method": "cuda-repo", "driver.branch": "590", "driver.flavour": "open"})
    assert ids(plan) == [
        "driver.blacklist-nouveau",
        "driver.update-initramfs",
        "driver.key-tools",
        "driver.key-workdir",
        "driver.key-download",
        "driver.key-dearmor",
        "driver.key-check",
        "driver.key-dir",
        "driver.key-install",
        "driver.cuda-repo-source",
        "driver.apt-update",
        "driver.pin-branch",
        "driver.install",
        "driver.enroll-mok",  # Secure Boot is on and DKMS signs with its own key
        "driver.hold-packages",
        "driver.unattended-upgrades",
    ]
    steps = {s.id: s for s in plan.steps}
    assert steps["driver.enroll-mok"].argv == ("mokutil", "--import", "/var/lib/shim-signed/mok/MOK.der")
    assert steps["driver.enroll-mok"].interactive
    url = "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2204/x86_64/"
    assert steps["driver.key-download"].argv[-1] == url + "3bf863cc.pub"
    assert steps["driver.key-check"].argv[-2:] == ("--list-keys", "EB693B3035CD5710E231E123A4B469963BF863CC")
    source = steps["driver.cuda-repo-source"].edit
    assert source.path == "/etc/apt/sources.list.d/cuda-ubuntu2204-x86_64.list"
    assert f"deb [signed-by=/usr/share/keyrings/cuda-archive-keyring.gpg] {url} /\n" in source.new_text
    assert steps["driver.pin-branch"].argv[-1] == "nvidia-driver-pinning-590"
    assert steps["driver.install"].argv[-1] == "nvidia-open"
    assert not any("apt-key" in " ".join(s.argv or ()) for s in plan.steps)
    assert subprocess.run(["bash", "-n", "-c", render_sh(plan)]).returncode == 0


def test_cuda_repository_branches_before_590_use_branch_packages(profile_host):
    report = run_doctor(profile_host("fresh-rtx3060"))
    plan = build_plan(report, {"driver.method": "cuda-repo", "driver.branch": "580", "driver.flavour": "proprietary"})
    assert "driver.pin-branch" not in ids(plan)
    assert next(s for s in plan.steps if s.id == "driver.install").argv[-1] == "cuda-drivers-580"


def test_debian_choices_follow_what_debian_packages(profile_host):
    report = debian_report(profile_host)
    choices = by_key(offered_choices(report))
    assert choices["driver.method"].recommended == "distro"
    assert choices["driver.branch"].recommended == "535"
    assert "driver.edition" not in choices
    # what Debian does not package comes from NVIDIA's repository, and the plan says why
    plan = build_plan(report, {"driver.branch": "580"}, source="choices")
    assert next(s for s in plan.steps if s.id == "driver.install").argv[-1] == "cuda-drivers-580"
    assert any("Debian bookworm packages R535, not R580" in n.text for n in plan.notes)
    plan = build_plan(report, {"driver.flavour": "open"}, source="choices")
    assert "driver.cuda-repo-source" in [s.id for s in plan.steps]
    assert any("Debian bookworm has no open kernel modules" in n.text for n in plan.notes)
    plan = build_plan(report, {"driver.method": "cuda-repo"})
    source = next(s for s in plan.steps if s.id == "driver.cuda-repo-source").edit
    assert source.path == "/etc/apt/sources.list.d/cuda-debian12-x86_64.list"


def test_trixie_installs_its_open_modules(profile_host):
    report = debian_report(profile_host, OsInfo("debian", "13", "Debian GNU/Linux 13 (trixie)", (), "trixie"))
    plan = build_plan(report, {"driver.flavour": "open"})
    install = next(s for s in plan.steps if s.id == "driver.install")
    assert "nvidia-open-kernel-dkms" in install.argv and "nvidia-driver" in install.argv
    # no fingerprint NVIDIA published for the debian13 repository key: the method says so
    method = by_key(offered_choices(report))["driver.method"]
    assert method.option("cuda-repo").note == "no checked key here"
    with pytest.raises(InputError, match="does not trust a key it cannot check"):
        build_plan(report, {"driver.method": "cuda-repo"}, source="choices")


# --- answers ------------------------------------------------------------------------------------


def test_answers_tables_become_selections():
    assert selections_from_answers({"driver": {"branch": "570", "method": "cuda-repo"}}, source="a.toml") == {
        "driver.branch": "570",
        "driver.method": "cuda-repo",
    }
    # docs/answers.md says a string: an integer is refused with the spelling that works
    with pytest.raises(InputError, match=r'a.toml: driver.branch: must be a string: write branch = "570"'):
        selections_from_answers({"driver": {"branch": 570}}, source="a.toml")
    with pytest.raises(InputError, match=r"a.toml: \[drivers\]: not a layer"):
        selections_from_answers({"drivers": {"branch": "570"}}, source="a.toml")
    with pytest.raises(InputError, match="driver.branch: must be a string"):
        selections_from_answers({"driver": {"branch": True}}, source="a.toml")


def test_unknown_key_bad_value_and_unused_choice(profile_host):
    report = run_doctor(profile_host("fresh-rtx3060"))
    with pytest.raises(InputError, match="driver.brnch: unknown choice"):
        build_plan(report, {"driver.brnch": "570"}, source="a.toml")
    with pytest.raises(
        InputError, match="driver.flavour = 'closed': not a value gpuwiz knows .one of open, proprietary"
    ):
        build_plan(report, {"driver.flavour": "closed"}, source="a.toml")
    healthy = run_doctor(profile_host("homelab-ready"))
    plan = build_plan(healthy, {"driver.branch": "570"})  # one answers file for several nodes
    assert any("driver.branch = '570' is not used" in n.text for n in plan.notes)


def test_cli_plan_with_answers(tmp_path, isolated_env):
    answers = tmp_path / "answers.toml"
    answers.write_text('[driver]\nmethod = "cuda-repo"\nbranch = "580"\nflavour = "open"\n')
    run = subprocess.run(
        [sys.executable, "-m", "gpuwiz", "--profile", "fresh-rtx3060", "plan", "--answers", str(answers)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "nvidia-open-580" in run.stdout
    answers.write_text('[driver]\nflavor = "open"\n')
    run = subprocess.run(
        [sys.executable, "-m", "gpuwiz", "--profile", "fresh-rtx3060", "plan", "--answers", str(answers)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith(f"gpuwiz: {answers}: driver.flavor: unknown choice (known: driver.action, driver.branch")
    assert "driver.flavour" in line


# --- RHEL family: NVIDIA's repository through dnf --------------------------------------------------


def test_rocky_gets_the_cuda_repository_through_dnf(profile_host):
    report = run_doctor(profile_host("rocky9-l4"))
    choices = by_key(offered_choices(report))
    assert choices["driver.method"].values == ("cuda-repo",)
    assert "driver.edition" not in choices and choices["driver.flavour"].recommended == "open"
    plan = build_plan(report, {"driver.branch": "580"})
    assert ids(plan) == [
        "driver.dnf-plugins",
        "driver.enable-crb",
        "driver.epel",
        "driver.kernel-headers",
        "driver.key-tools",
        "driver.key-workdir",
        "driver.key-download",
        "driver.key-dearmor",
        "driver.key-check",
        "driver.key-dir",
        "driver.key-install",
        "driver.cuda-repo-source",
        "driver.module-stream",
        "driver.install",
        "driver.versionlock-plugin",
        "driver.hold-packages",
    ]
    steps = {s.id: s for s in plan.steps}
    assert steps["driver.enable-crb"].argv == ("dnf", "config-manager", "--set-enabled", "crb")
    assert steps["driver.kernel-headers"].argv[-2] == "kernel-devel-5.14.0-503.26.1.el9_5.x86_64"
    assert steps["driver.key-check"].argv[-1] == "610C7B14E068A878070DA4E99CD0A493D42D0685"
    assert "--armor" in steps["driver.key-install"].argv  # rpm reads armored keys
    repo = steps["driver.cuda-repo-source"].edit
    assert repo.path == "/etc/yum.repos.d/cuda-rhel9.repo" and "[cuda-rhel9-x86_64]\n" in repo.new_text
    assert "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-NVIDIA-CUDA\n" in repo.new_text
    assert steps["driver.module-stream"].argv == ("dnf", "-y", "module", "enable", "nvidia-driver:580-open")
    assert steps["driver.hold-packages"].argv == ("dnf", "versionlock", "add", "*nvidia*580*")
    assert [s for s in plan.steps if s.layer.value == "driver"][-1].reboot
    assert subprocess.run(["bash", "-n", "-c", render_sh(plan)]).returncode == 0


def test_rhel_proprietary_and_rhel_repos(profile_host):
    facts = probe_all(profile_host("rocky9-l4"))
    rhel = replace(facts.hardware, os=OsInfo("rhel", "8.10", "Red Hat Enterprise Linux 8.10 (Ootpa)", ("fedora",)))
    plan = build_plan(
        diagnose(replace(facts, hardware=rhel)), {"driver.flavour": "proprietary", "driver.branch": "570"}
    )
    steps = {s.id: s for s in plan.steps}
    assert steps["driver.enable-crb"].argv == (
        "subscription-manager",
        "repos",
        "--enable",
        "codeready-builder-for-rhel-8-x86_64-rpms",
    )
    assert steps["driver.epel"].argv[-1] == "https://dl.fedoraproject.org/pub/epel/epel-release-latest-8.noarch.rpm"
    assert steps["driver.install"].argv == ("dnf", "-y", "module", "install", "nvidia-driver:570-dkms")
    assert "driver.dnf-plugins" not in steps


def test_rhel10_is_not_planned_without_a_key_gpuwiz_can_check(profile_host):
    facts = probe_all(profile_host("rocky9-l4"))
    hw = replace(
        facts.hardware, os=OsInfo("rocky", "10.0", "Rocky Linux 10.0 (Red Quartz)", ("rhel", "centos", "fedora"))
    )
    report = diagnose(replace(facts, hardware=hw))
    assert [c.key for c in offered_choices(report) if c.layer.value == "driver"] == []
    plan = build_plan(report, {})
    driver_notes = [n.text for n in plan.notes if n.layer and n.layer.value == "driver"]
    assert ids(plan) == [] and len(driver_notes) == 1 and "could not take from an NVIDIA publication" in driver_notes[0]
