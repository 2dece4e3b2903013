"""Every fix and every plan step speaks the node's own package manager: no apt or dpkg on an rpm
system, no dnf or rpm on a Debian or Ubuntu one. Walked over every shipped profile, as found and
after its simulated walk (rocky9-l4's held-packages warning once said `apt-mark hold`)."""

from __future__ import annotations

import re

import pytest
from test_simulated_run import WALKS, walk

from gpuwiz.backends.doctor import run_doctor
from gpuwiz.backends.machine.distro import package_family
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import available_profiles, load_profile
from gpuwiz.backends.planners.registry import build_plan, offered_choices

APT_WORDS = re.compile(
    r"\bapt(-get|-mark|-cache|-key)?\b|\bdpkg\b|update-initramfs|linux-headers-|ubuntu-drivers|/etc/apt/"
)
RPM_WORDS = re.compile(r"\bdnf\b|\byum\b|\brpm\b|\bdracut\b|kernel-devel|/etc/yum\.repos\.d|/etc/pki/rpm-gpg")
PROFILES = [name for name, _ in available_profiles({})]


def texts(host: ProfileHost) -> list[tuple[str, str]]:
    """(where, text) of every finding's message and fix and every step of every choice's plan."""
    report = run_doctor(host)
    out = []
    for layer in report.layers:
        for f in layer.findings:
            out += [(f"finding {f.id}", f.message), (f"fix of {f.id}", f.fix or "")]
    plans = [build_plan(report, {})]
    for choice in offered_choices(report):
        for option in choice.options:
            plans.append(build_plan(report, {choice.key: option.value}))
    for plan in plans:
        for step in plan.steps:
            body = " ".join(step.argv or ()) + " " + (step.edit.path if step.edit else "")
            out += [(f"step {step.id}", f"{step.title} {step.why} {body}")]
        out += [("plan note", n.text) for n in plan.notes]
    return out


def wrong_words(host: ProfileHost) -> list[str]:
    family = package_family(run_doctor(host).facts.hardware.os)
    wrong = RPM_WORDS if family == "apt" else APT_WORDS if family == "dnf" else None
    if wrong is None:
        return []
    return [f"{where}: {text}" for where, text in texts(host) if wrong.search(text)]


@pytest.mark.parametrize("name", PROFILES)
def test_fixes_and_steps_use_this_nodes_package_manager(name):
    assert wrong_words(ProfileHost(load_profile(name, {}))) == []


@pytest.mark.parametrize("name", WALKS)
def test_after_the_walk_too(name):
    assert wrong_words(walk(name)[0]) == []


def test_the_words_are_caught():
    assert APT_WORDS.search("apt-mark hold nvidia-driver") and RPM_WORDS.search("dnf versionlock add x")
    assert not APT_WORDS.search("aptly named") and not RPM_WORDS.search("rpmfusion? no: rpm") is None
