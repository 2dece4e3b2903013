"""The apt driver planner: what `gpuwiz plan` proposes for the driver layer on real machines."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

from gpuwiz.backends.doctor import diagnose, run_doctor
from gpuwiz.backends.facts import OsInfo
from gpuwiz.backends.findings import Layer, Status
from gpuwiz.backends.planners.registry import build_plan, load_backends
from gpuwiz.backends.probes import probe_all
from gpuwiz.backends.runs.plan import render_sh

DATA = Path(__file__).parent / "data" / "apt"


def ids(plan):
    """The driver layer's steps (the toolkit's and others' have their own tests)."""
    return [s.id for s in plan.steps if s.layer.value == "driver"]


def test_the_planner_is_registered():
    assert any(p.name == "driver-apt" for p in load_backends("planner"))


def test_fresh_ubuntu_workstation(profile_host):
    plan = build_plan(run_doctor(profile_host("fresh-rtx3060")), {})
    assert ids(plan) == [
        "driver.blacklist-nouveau",
        "driver.update-initramfs",
        "driver.apt-update",
        "driver.install",
        "driver.hold-packages",
        "driver.unattended-upgrades",
    ]
    install = plan.steps[3]
    # ubuntu-drivers' recommendation, never waiting at a debconf prompt nobody can see
    assert install.argv == ("env", "DEBIAN_FRONTEND=noninteractive", "ubuntu-drivers", "install", "nvidia:535")
    assert install.skip_if is not None
    assert plan.needs_reboot and [s for s in plan.steps if s.layer.value == "driver"][-1].reboot
    script = render_sh(plan)
    assert subprocess.run(["bash", "-n", "-c", script]).returncode == 0


def test_healthy_or_broken_driver_gets_no_install(profile_host):
    for name in ("homelab-ready", "dgx-h100x8", "vm-bar1"):
        plan = build_plan(run_doctor(profile_host(name)), {})
        assert "driver.install" not in ids(plan), name


def test_unheld_working_driver_gets_protected(profile_host):
    plan = build_plan(run_doctor(profile_host("laptop-mx150")), {})
    assert ids(plan) == ["driver.hold-packages", "driver.unattended-upgrades"]
    assert "nvidia-driver-515" in plan.steps[0].argv
    assert not plan.needs_reboot


def test_debian_bookworm_enables_nonfree_then_installs(profile_host):
    """The same workstation on Debian 12 with only `main` in its real deb822 sources."""
    facts = probe_all(profile_host("fresh-rtx3060"))
    sources = (("/etc/apt/sources.list.d/debian.sources", (DATA / "debian.sources").read_text()),)
    hw = replace(facts.hardware, os=OsInfo("debian", "12", "Debian GNU/Linux 12 (bookworm)", (), "bookworm"))
    driver = replace(facts.driver, ubuntu_drivers=None, apt_sources=sources)
    plan = build_plan(diagnose(replace(facts, hardware=hw, driver=driver)), {})
    assert ids(plan)[:5] == [
        "driver.blacklist-nouveau",
        "driver.update-initramfs",
        "driver.apt-sources",
        "driver.apt-update",
        "driver.install",
    ]
    edit = plan.steps[2].edit
    assert "non-free" in edit.new_text and "contrib" in edit.new_text
    assert plan.steps[4].argv[-2:] == ("nvidia-driver", "firmware-misc-nonfree")
    # Secure Boot is on here: DKMS's key is queued for enrolment (a one-time password) before the reboot
    assert plan.steps[5].argv == ("mokutil", "--import", "/var/lib/dkms/mok.pub") and plan.steps[5].interactive
    assert "# asks you at the terminal" in render_sh(plan)


def test_without_ubuntu_drivers_the_catalogue_picks_the_branch(profile_host):
    facts = probe_all(profile_host("fresh-rtx3060"))
    plan = build_plan(diagnose(replace(facts, driver=replace(facts.driver, ubuntu_drivers=None))), {})
    install = next(s for s in plan.steps if s.id == "driver.install")
    assert install.argv[2:4] == ("ubuntu-drivers", "install") and install.argv[4].endswith("-open")


def test_debian_follows_nvidia_detect(profile_host):
    """A Kepler Tesla on bookworm: nvidia-detect names the Tesla 470 package (text built from its message
    templates; no real capture of this case was found)."""
    from gpuwiz.backends.driver_outputs import parse_nvidia_detect

    facts = probe_all(profile_host("fresh-rtx3060"))
    detect = parse_nvidia_detect(
        "Detected NVIDIA GPUs:\n"
        "2f:00.0 3D controller [0302]: NVIDIA Corporation GK180GL [Tesla K40c] [10de:1024] (rev a1)\n\n"
        "Checking card:  NVIDIA Corporation GK180GL [Tesla K40c] (rev a1)\n"
        "Your card is only supported by the Tesla 470 drivers series.\n"
        "It is recommended to install the\n    nvidia-tesla-470-driver\npackage.\n"
    )
    sources = (("/etc/apt/sources.list.d/debian.sources", (DATA / "debian.sources").read_text()),)
    hw = replace(facts.hardware, os=OsInfo("debian", "12", "Debian GNU/Linux 12 (bookworm)", (), "bookworm"))
    driver = replace(facts.driver, ubuntu_drivers=None, nvidia_detect=detect, apt_sources=sources)
    plan = build_plan(diagnose(replace(facts, hardware=hw, driver=driver)), {})
    install = next(s for s in plan.steps if s.id == "driver.install")
    assert "nvidia-tesla-470-driver" in install.argv


def test_headless_ubuntu_node_gets_the_server_variant(profile_host):
    facts = probe_all(profile_host("fresh-rtx3060"))
    assert facts.driver.default_target == "graphical.target"
    headless = replace(facts.driver, default_target="multi-user.target")
    plan = build_plan(diagnose(replace(facts, driver=headless)), {})
    install = next(s for s in plan.steps if s.id == "driver.install")
    assert install.argv[-1] == "nvidia:535-server" and "headless" in install.why


def test_run_installer_beside_packages_is_removed_then_packages_reinstalled(profile_host):
    """Row 8: /usr/bin/nvidia-uninstall beside distribution packages."""
    facts = probe_all(profile_host("laptop-mx150"))
    plan = build_plan(diagnose(replace(facts, driver=replace(facts.driver, run_installer=True))), {})
    assert ids(plan) == ["driver.remove-run-install", "driver.reinstall-packages"]
    assert plan.steps[0].argv == ("nvidia-uninstall", "--silent")
    assert "--reinstall" in plan.steps[1].argv and "nvidia-driver-515" in plan.steps[1].argv
    assert plan.needs_reboot


def test_missing_headers_plan_rebuilds_the_module(profile_host):
    """Row 6: headers for the running kernel, dkms autoinstall, modprobe — no reboot."""
    plan = build_plan(run_doctor(profile_host("headers-missing-after-kernel-update")), {})
    assert ids(plan) == ["driver.kernel-headers", "driver.dkms-autoinstall", "driver.load-module"]
    assert plan.steps[0].argv[-1] == "linux-headers-5.15.0-121-generic"
    assert plan.steps[1].argv == ("dkms", "autoinstall", "-k", "5.15.0-121-generic")
    assert not plan.needs_reboot


def test_a_broken_layer_without_steps_says_so(profile_host):
    """Never "every layer is healthy" while one fails: BAR1 is the hypervisor's to fix, not gpuwiz's."""
    plan = build_plan(run_doctor(profile_host("vm-bar1")), {})
    notes = {n.layer.value if n.layer else None: n.text for n in plan.notes}
    assert "driver" in notes and "does not automate" in notes["driver"]
    assert None not in notes


def test_unenrolled_mok_is_queued_then_the_reboot(profile_host):
    """Row 4: the key is queued with a one-time password typed at the terminal, then the firmware asks for it."""
    plan = build_plan(run_doctor(profile_host("secureboot-unenrolled-mok")), {})
    assert ids(plan) == ["driver.enroll-mok"]
    step = plan.steps[0]
    assert step.argv == ("mokutil", "--import", "/var/lib/shim-signed/mok/MOK.der")
    assert step.interactive and step.reboot and "Enroll MOK" in step.why


def test_version_mismatch_plan_protects_then_reboots(profile_host):
    """Row 5: hold what is installed, keep unattended-upgrades away, then the reboot that fixes it."""
    plan = build_plan(run_doctor(profile_host("mismatch-after-upgrade")), {})
    assert ids(plan) == ["driver.hold-packages", "driver.unattended-upgrades"]
    assert "nvidia-driver-535" in plan.steps[0].argv
    assert plan.needs_reboot


def test_blackwell_on_proprietary_modules_switches_to_open(profile_host):
    """Row 7: the same branch's -open flavour, which apt swaps in, then hold and reboot."""
    plan = build_plan(run_doctor(profile_host("blackwell-proprietary")), {})
    assert ids(plan) == [
        "driver.apt-update",
        "driver.install-open",
        "driver.hold-packages",
        "driver.unattended-upgrades",
    ]
    install = plan.steps[1]
    assert install.argv[-1] == "nvidia-driver-580-open" and "--allow-change-held-packages" not in install.argv
    assert [s for s in plan.steps if s.layer.value == "driver"][-1].reboot


def test_debian_without_its_own_archive_is_a_finding_not_a_crash(profile_host):
    """Sources with no `main` entry for the release (only a vendor repository): `plan` used to exit 3
    (apt.nonfree_sources_edit raised); now the driver layer says why and how, and plans no install."""
    facts = probe_all(profile_host("fresh-rtx3060"))
    vendor = (
        "Types: deb\nURIs: https://repo.example.com/debian\nSuites: bookworm\nComponents: stable\n"
        "Signed-By: /usr/share/keyrings/example.gpg\n"
    )
    sources = (("/etc/apt/sources.list.d/vendor.sources", vendor),)
    hw = replace(facts.hardware, os=OsInfo("debian", "12", "Debian GNU/Linux 12 (bookworm)", (), "bookworm"))
    driver = replace(facts.driver, ubuntu_drivers=None, apt_sources=sources)
    report = diagnose(replace(facts, hardware=hw, driver=driver))
    finding = next(f for f in report.layer(Layer.DRIVER).findings if f.id == "driver.apt-sources")
    assert finding.status is Status.FAIL and "main" in finding.message and "deb.debian.org" in finding.fix
    plan = build_plan(report, {})
    assert "driver.install" not in ids(plan)
    assert any("no enabled apt source of bookworm has the main component" in n.text for n in plan.notes)
