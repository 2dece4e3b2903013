"""The driver layer's planner for RHEL and its rebuilds (Rocky, Alma, Oracle): NVIDIA's CUDA repository via dnf.

RHEL ships no NVIDIA driver. NVIDIA's guide for RHEL 8/9: CRB and EPEL enabled (DKMS comes from
EPEL), the headers of the running kernel, the repository, then a `nvidia-driver` module stream
(`580-open`, `580-dkms`) that keeps dnf on the branch. gpuwiz adds the repository with a key it
checked by fingerprint, locks the installed versions (`dnf versionlock`, the dnf counterpart of
`apt-mark hold`) so an automatic update cannot leave the libraries ahead of the loaded module,
and reboots. RHEL 10 has no module streams and a repository key whose fingerprint gpuwiz could not
take from NVIDIA; it is not planned (the choice is not offered there).
"""

from __future__ import annotations

from dataclasses import replace

from gpuwiz.backends.doctor import DoctorReport
from gpuwiz.backends.facts import HardwareFacts
from gpuwiz.backends.findings import Layer, Status
from gpuwiz.backends.machine.distro import is_rhel_like
from gpuwiz.backends.packages.cuda_repo import OPEN, no_repo_error, repo_for
from gpuwiz.backends.packages.signed_repo import dnf_repo_edit, key_steps
from gpuwiz.backends.planners.choices import Choice, Selections
from gpuwiz.backends.planners.driver_apt import nouveau_steps
from gpuwiz.backends.planners.driver_choices import DRIVER_KEYS, driver_choices, driver_selection, installed
from gpuwiz.backends.runs.plan import Guard, NotAutomated, Step
from gpuwiz.backends.secure_boot import mok_steps

DNF = ("dnf", "-y")


def rpm_installed(*packages: str) -> Guard:
    """`rpm -q` exits 0 only when every package is installed."""
    return Guard(("rpm", "-q", "--quiet", *packages))


def dnf_install(packages: list[str], *, step_id: str, title: str, why: str, verifies: tuple[str, ...] = ()) -> Step:
    return Step(
        step_id,
        title,
        Layer.DRIVER,
        argv=(*DNF, "install", *packages),
        skip_if=rpm_installed(*packages),
        verifies=verifies,
        why=why,
    )


def _extra_repos(hw: HardwareFacts) -> list[Step]:
    """CRB (PowerTools on 8) and EPEL: NVIDIA's DKMS packages need dkms from EPEL, which needs CRB."""
    major = hw.os.version_id.split(".")[0]
    arch = hw.arch or "x86_64"
    if hw.os.id == "rhel":
        crb = ("subscription-manager", "repos", "--enable", f"codeready-builder-for-rhel-{major}-{arch}-rpms")
        epel = f"https://dl.fedoraproject.org/pub/epel/epel-release-latest-{major}.noarch.rpm"
    else:
        crb = ("dnf", "config-manager", "--set-enabled", "powertools" if major == "8" else "crb")
        epel = "epel-release"
    steps = []
    if hw.os.id != "rhel":
        steps.append(
            dnf_install(
                ["dnf-plugins-core"],
                step_id="driver.dnf-plugins",
                title="Install dnf's config-manager",
                why="It switches on the CRB repository below.",
            )
        )
    steps.append(
        Step(
            "driver.enable-crb",
            "Enable the CodeReady Builder (CRB) repository",
            Layer.DRIVER,
            argv=crb,
            why="EPEL's packages, dkms among them, build on packages that only CRB has.",
        )
    )
    steps.append(
        Step(
            "driver.epel",
            "Install EPEL (Extra Packages for Enterprise Linux)",
            Layer.DRIVER,
            argv=(*DNF, "install", epel),
            skip_if=rpm_installed("epel-release"),
            why="NVIDIA's DKMS packages need dkms, which RHEL and its rebuilds take from EPEL.",
        )
    )
    return steps


class DnfDriverPlanner:
    """Registered as `planner:driver-dnf` (entry-point group gpuwiz.backends)."""

    layer = Layer.DRIVER
    name = "driver-dnf"
    keys = DRIVER_KEYS

    @staticmethod
    def applies(report: DoctorReport) -> bool:
        hw, driver = report.facts.hardware, report.facts.driver
        return driver is not None and hw.os is not None and is_rhel_like(hw.os) and bool(hw.nvidia_gpus)

    def choices(self, report: DoctorReport) -> list[Choice]:
        return driver_choices(report) if self.applies(report) else []

    def plan(self, report: DoctorReport, selections: Selections) -> list[Step]:
        if not self.applies(report):
            return []
        hw, driver = report.facts.hardware, report.facts.driver
        sel = driver_selection(report, selections)
        names = [p.name for p in driver.packages]
        if sel.remove:
            return self._remove(names)
        ids = {f.id: f.status for f in report.layer(Layer.DRIVER).findings}
        if installed(driver) or (ids.get("driver.module") is Status.OK and ids.get("driver.nvml") is Status.OK):
            return []  # installed: the findings say what to do (reboot, MOK, …)
        repo = repo_for(hw)
        if repo is None:
            if "driver.method" in selections:
                raise no_repo_error(hw)
            raise NotAutomated(
                f"NVIDIA's repository for {hw.os.pretty_name} is signed with a key whose fingerprint gpuwiz could "
                "not take from an NVIDIA publication; install the driver by NVIDIA's guide "
                "(docs.nvidia.com/datacenter/tesla/driver-installation-guide), and gpuwiz checks it afterwards."
            )
        if not sel.branch:
            return []
        dnf_repo = repo.dnf_repo()
        open_modules = sel.flavour == OPEN
        stream = f"{sel.branch}-open" if open_modules else f"{sel.branch}-dkms"
        steps = nouveau_steps(driver, hw, ("dracut", "--force")) + _extra_repos(hw)
        if hw.kernel:
            steps.append(
                dnf_install(
                    [f"kernel-devel-{hw.kernel}", "kernel-headers"],
                    step_id="driver.kernel-headers",
                    title=f"Install the headers of the running kernel {hw.kernel}",
                    why="DKMS compiles the nvidia module against them.",
                )
            )
        steps.append(
            dnf_install(
                ["curl", "gnupg2"],
                step_id="driver.key-tools",
                title="Install curl and gpg (to fetch and check the repository key)",
                why="The key is downloaded with curl and checked with gpg before dnf trusts it.",
            )
        )
        steps += key_steps(dnf_repo.key, layer=Layer.DRIVER, id_prefix="driver")
        steps.append(
            Step(
                "driver.cuda-repo-source",
                f"Add NVIDIA's CUDA repository for {repo.distro}",
                Layer.DRIVER,
                edit=dnf_repo_edit(dnf_repo, dict(driver.dnf_repos).get(dnf_repo.path)),
                why="The file and section name NVIDIA's own .repo uses, with the checked key as gpgkey.",
            )
        )
        why = f"R{sel.branch} with the {sel.flavour} kernel modules; the module stream keeps dnf on this branch."
        if open_modules:
            steps.append(
                Step(
                    "driver.module-stream",
                    f"Select the nvidia-driver:{stream} module stream",
                    Layer.DRIVER,
                    argv=(*DNF, "module", "enable", f"nvidia-driver:{stream}"),
                    why="The stream is what pins the branch on RHEL 8 and 9.",
                )
            )
            steps.append(
                dnf_install(
                    ["nvidia-open"],
                    step_id="driver.install",
                    title="Install the NVIDIA driver (nvidia-open)",
                    why=why,
                    verifies=("driver.module", "driver.nvml"),
                )
            )
        else:
            steps.append(
                Step(
                    "driver.install",
                    f"Install the NVIDIA driver (module nvidia-driver:{stream})",
                    Layer.DRIVER,
                    argv=(*DNF, "module", "install", f"nvidia-driver:{stream}"),
                    skip_if=rpm_installed("kmod-nvidia-latest-dkms"),
                    verifies=("driver.module", "driver.nvml"),
                    why=why,
                )
            )
        steps += mok_steps(hw)
        steps.append(
            dnf_install(
                ["python3-dnf-plugin-versionlock"],
                step_id="driver.versionlock-plugin",
                title="Install dnf's versionlock plugin",
                why="dnf's way to hold packages at their installed version.",
            )
        )
        steps.append(
            Step(
                "driver.hold-packages",
                "Lock the driver packages at their installed version",
                Layer.DRIVER,
                argv=("dnf", "versionlock", "add", f"*nvidia*{sel.branch}*"),
                verifies=("driver.not-held",),
                why="An automatic update of the libraries under the loaded kernel module ends in "
                '"Driver/library version mismatch" until a reboot; locked packages wait for you.',
            )
        )
        steps[-1] = replace(steps[-1], reboot=True)
        return steps

    @staticmethod
    def _remove(names: list[str]) -> list[Step]:
        if not names:
            return []
        return [
            Step(
                "driver.unlock-packages",
                "Unlock the driver packages",
                Layer.DRIVER,
                argv=("dnf", "versionlock", "delete", "*nvidia*"),
                why="Locked packages cannot be removed.",
                removal=True,
            ),
            Step(
                "driver.purge-packages",
                "Remove the driver packages",
                Layer.DRIVER,
                argv=(*DNF, "remove", *names),
                why="dnf removes what only they needed too (clean_requirements_on_remove).",
                reboot=True,
                removal=True,
            ),
        ]


PLANNER = DnfDriverPlanner()
