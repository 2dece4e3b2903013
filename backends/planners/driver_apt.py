"""The driver layer's planner for Debian and Ubuntu (apt): what to install and how to protect it.

Ubuntu: the driver `ubuntu-drivers` recommends for these cards (else the newest branch that supports
them all), installed with `ubuntu-drivers install`, which prefers the precompiled, Canonical-signed
`linux-modules-nvidia-*` packages (no DKMS, nothing to enrol under Secure Boot). Debian: the non-free
`nvidia-driver` (DKMS) after enabling the components it lives in. Both: nouveau blacklisted, the
packages held and kept out of unattended-upgrades, then a reboot.
"""

from __future__ import annotations

import re
from dataclasses import replace

from gpuwiz.backends.doctor import DoctorReport
from gpuwiz.backends.errors import InputError
from gpuwiz.backends.facts import DriverFacts, HardwareFacts
from gpuwiz.backends.findings import Layer, Status
from gpuwiz.backends.packages import apt, cuda_repo
from gpuwiz.backends.planners.choices import Choice, Selections
from gpuwiz.backends.planners.driver_choices import (
    DEBIAN_OPEN_MODULES,
    DESKTOP,
    DRIVER_KEYS,
    METHOD_CUDA,
    OPEN,
    SERVER,
    DriverSelection,
    debian_branch,
    driver_choices,
    driver_selection,
    installed,
)
from gpuwiz.backends.runs.plan import FileEdit, NotAutomated, PlanNote, Step
from gpuwiz.backends.secure_boot import enroll_step, mok_path, mok_steps

NOUVEAU_BLACKLIST = "/etc/modprobe.d/gpuwiz-blacklist-nouveau.conf"
NOUVEAU_BLACKLIST_TEXT = (
    "# Written by gpuwiz: keep the open-source nouveau (and nova_core) drivers off the NVIDIA GPU\n"
    "# so the NVIDIA module can bind to it. Delete this file (and update the initramfs) to undo.\n"
    "blacklist nouveau\n"
    "options nouveau modeset=0\n"
    "blacklist nova_core\n"
)
# What `apt-mark hold` covers after an install: the packages that must move together.
HOLD_PATTERN = re.compile(r"^(nvidia-|libnvidia-|linux-modules-nvidia-|xserver-xorg-video-nvidia|libxnvctrl)")


def ubuntu_package(sel: DriverSelection) -> str:
    """nvidia-driver-570, nvidia-driver-570-open, nvidia-driver-570-server, nvidia-driver-570-server-open."""
    server = "-server" if sel.edition == SERVER else ""
    flavour = "-open" if sel.flavour == OPEN else ""
    return f"nvidia-driver-{sel.branch}{server}{flavour}"


def nouveau_steps(
    driver: DriverFacts, hardware: HardwareFacts, initramfs: tuple[str, ...] = ("update-initramfs", "-u")
) -> list[Step]:
    """Blacklist nouveau and rebuild the initramfs (`dracut --force` on RHEL), when nouveau is in the way."""
    if not (
        {"nouveau", "nova_core"} & set(driver.loaded_modules)
        or any(d.driver in ("nouveau", "nova_core") for d in hardware.nvidia_gpus)
    ):
        return []
    return [
        Step(
            "driver.blacklist-nouveau",
            "Blacklist nouveau and nova_core",
            Layer.DRIVER,
            edit=FileEdit(NOUVEAU_BLACKLIST, NOUVEAU_BLACKLIST_TEXT),
            verifies=("driver.nouveau",),
            why="nouveau owns the GPU now; the NVIDIA module can only bind once it no longer loads at boot.",
        ),
        Step(
            "driver.update-initramfs",
            "Rebuild the initramfs without nouveau",
            Layer.DRIVER,
            argv=initramfs,
            why="nouveau is loaded from the initramfs early in boot; the blacklist must be in there too.",
        ),
    ]


def _unheld(driver: DriverFacts) -> list[str]:
    """Installed driver packages that are not held yet."""
    return [p.name for p in driver.packages if HOLD_PATTERN.match(p.name) and p.name not in driver.held_packages]


def _protect_steps(packages: list[str], existing_blacklist: str | None) -> list[Step]:
    steps = [apt.hold_step(packages)] if packages else []
    steps.append(apt.unattended_upgrades_step(apt.unattended_upgrades_blacklist_edit(existing_blacklist)))
    return steps


def _dkms_rebuild(kernel: str) -> list[Step]:
    """Row 6: headers for the running kernel, then DKMS builds and loads the module."""
    return [
        apt.install_step(
            [f"linux-headers-{kernel}"],
            step_id="driver.kernel-headers",
            title=f"Install the headers of the running kernel {kernel}",
            why="DKMS compiles the nvidia module against them; without them it built nothing for this kernel.",
            verifies=("driver.dkms-build",),
        ),
        Step(
            "driver.dkms-autoinstall",
            "Build the NVIDIA module for the running kernel",
            Layer.DRIVER,
            argv=("dkms", "autoinstall", "-k", kernel),
            verifies=("driver.dkms-build",),
            why="Builds and installs every registered DKMS module (nvidia among them) for this kernel.",
        ),
        Step(
            "driver.load-module",
            "Load the nvidia module",
            Layer.DRIVER,
            argv=("modprobe", "nvidia"),
            verifies=("driver.module", "driver.nvml"),
            why="Loads the freshly built module now, so no reboot is needed.",
        ),
    ]


def _remove_run_install(driver: DriverFacts) -> list[Step]:
    names = [p.name for p in driver.packages]
    return [
        Step(
            "driver.remove-run-install",
            "Uninstall the driver installed from NVIDIA's .run file",
            Layer.DRIVER,
            argv=("nvidia-uninstall", "--silent"),
            verifies=("driver.run-installer",),
            why="It overwrote files of the distribution's packages; its own uninstaller removes exactly what it put there.",
        ),
        Step(
            "driver.reinstall-packages",
            "Reinstall the distribution's driver packages over what the .run file replaced",
            Layer.DRIVER,
            argv=(*apt.INSTALL_ENV, "apt-get", "install", "--reinstall", "-y", *apt.DPKG_OPTIONS, *names),
            verifies=("driver.module", "driver.nvml"),
            why="Removing the .run install also removed files the packages own; reinstalling restores them.",
            reboot=True,
        ),
    ]


def _remove_steps(driver: DriverFacts) -> list[Step]:
    """Uninstall (after the user confirmed it): the .run install with its own uninstaller, the packages purged."""
    steps = []
    if driver.run_installer:
        steps.append(
            Step(
                "driver.remove-run-install",
                "Uninstall the driver installed from NVIDIA's .run file",
                Layer.DRIVER,
                argv=("nvidia-uninstall", "--silent"),
                why="Its own uninstaller removes exactly the files it put there.",
            )
        )
    names = [p.name for p in driver.packages if p.status.strip() not in ("rc", "un")]
    if names:
        steps += list(apt.purge_steps(names))
    if driver.unattended_blacklist is not None:
        steps.append(
            Step(
                "driver.remove-unattended-blacklist",
                "Remove gpuwiz's unattended-upgrades exception for the driver",
                Layer.DRIVER,
                argv=("rm", "-f", apt.UNATTENDED_UPGRADES_PATH),
                why="There is no driver left to protect; the nouveau blacklist stays so a reinstall finds the GPU free.",
            )
        )
    if steps:
        steps[-1] = replace(steps[-1], reboot=True)  # the loaded module stays in memory until then
    return [replace(s, removal=True) for s in steps]


def _switch_to_open(driver: DriverFacts, hw: HardwareFacts) -> list[Step]:
    """Row 7: Blackwell on the proprietary modules: the same branch's open flavour, which apt swaps in."""
    names = [p.name for p in driver.packages]
    ubuntu = next((m.group(1) for n in names if (m := re.fullmatch(r"nvidia-driver-(\d+(?:-server)?)", n))), None)
    if hw.os is not None and hw.os.id == "ubuntu" and ubuntu:
        target = [f"nvidia-driver-{ubuntu}-open"]
    elif "nvidia-kernel-dkms" in names or "nvidia-driver" in names:
        target = ["nvidia-open-kernel-dkms", "nvidia-driver"]
    else:
        return []
    held = [n for n in names if n in driver.held_packages]
    install = Step(
        "driver.install-open",
        f"Switch to the open kernel modules ({', '.join(target)})",
        Layer.DRIVER,
        argv=(
            *apt.INSTALL_ENV,
            "apt-get",
            "install",
            "-y",
            *apt.DPKG_OPTIONS,
            *(("--allow-change-held-packages",) if held else ()),
            *target,
        ),
        skip_if=apt.installed_check(target),
        verifies=("driver.blackwell-open", "driver.nvml"),
        why="Blackwell runs only on the open modules; apt removes the proprietary module package they conflict "
        "with and keeps the branch (the same userspace libraries)."
        + (" Held packages are released for it." if held else ""),
    )
    steps = [apt.update_step(), install, *mok_steps(hw)]
    steps += _protect_steps(target[-1:], driver.unattended_blacklist)
    steps[-1] = replace(steps[-1], reboot=True)
    return steps


class AptDriverPlanner:
    """Registered as `planner:driver-apt` (entry-point group gpuwiz.backends)."""

    layer = Layer.DRIVER
    name = "driver-apt"
    keys = DRIVER_KEYS

    @staticmethod
    def applies(report: DoctorReport) -> bool:
        hw, driver = report.facts.hardware, report.facts.driver
        return driver is not None and hw.os is not None and hw.os.id in ("ubuntu", "debian") and bool(hw.nvidia_gpus)

    def choices(self, report: DoctorReport) -> list[Choice]:
        return driver_choices(report) if self.applies(report) else []

    def plan(self, report: DoctorReport, selections: Selections) -> list[Step | PlanNote]:
        if not self.applies(report):
            return []
        facts = report.facts
        hw, driver = facts.hardware, facts.driver
        sel = driver_selection(report, selections)
        if sel.remove:
            return _remove_steps(driver)
        ids = {f.id: f.status for f in report.layer(Layer.DRIVER).findings}
        if driver.run_installer and driver.packages:
            return _remove_run_install(driver)  # row 8: two installs fight; the packages win
        if ids.get("driver.module") is Status.OK and ids.get("driver.nvml") is Status.OK:
            return _protect_steps(_unheld(driver), driver.unattended_blacklist) if "driver.not-held" in ids else []
        if "driver.dkms-build" in ids and hw.kernel:
            return _dkms_rebuild(hw.kernel)
        if ids.get("driver.version-mismatch") is Status.FAIL and driver.packages:
            # row 5: the reboot loads the module that matches the libraries; holding first keeps it that way
            steps = _protect_steps(_unheld(driver), driver.unattended_blacklist)
            steps[-1] = replace(steps[-1], reboot=True)
            return steps
        if ids.get("driver.blackwell-open") is Status.FAIL:
            return _switch_to_open(driver, hw)  # row 7
        if ids.get("driver.secure-boot-key") is Status.FAIL and hw.secure_boot:
            return [replace(enroll_step(driver.mok_path or mok_path(hw)), reboot=True)]  # row 4
        if installed(driver):
            return []  # installed but broken otherwise: the findings say what to do (reboot, …)
        if sel.method == METHOD_CUDA:
            steps = nouveau_steps(driver, hw) + cuda_repo.apt_steps(hw, driver, sel.branch, sel.flavour)
            steps += _protect_steps([cuda_repo.packages(sel.branch, sel.flavour)[1]], driver.unattended_blacklist)
        elif hw.os.id == "ubuntu":
            steps = self._ubuntu(driver, hw, sel)
        else:
            steps = self._debian(driver, hw, sel)
        if not steps:
            return []
        steps[-1] = replace(steps[-1], reboot=True)  # the new module loads at the next boot
        if sel.why_method:
            return [PlanNote(Layer.DRIVER, f"Install method NVIDIA CUDA repo: {sel.why_method}"), *steps]
        return steps

    def _ubuntu(self, driver: DriverFacts, hw: HardwareFacts, sel: DriverSelection) -> list[Step]:
        package = ubuntu_package(sel)
        offered = [d.package for dev in driver.ubuntu_drivers or () for d in dev.drivers]
        if offered and package not in offered:
            branches = sorted({m.group(1) for p in offered if (m := re.match(r"nvidia-driver-(\d+)", p))}, key=int)
            raise InputError(
                "choices",
                f"Ubuntu offers no {package} for these GPUs (its branches here: "
                f"{', '.join('R' + b for b in branches) or 'none'}); pick one of those, or the CUDA repository method.",
            )
        recommended = next((d.recommended.package for d in driver.ubuntu_drivers or () if d.recommended), None)
        if package == recommended:
            why = "Ubuntu's own recommendation for these GPUs (ubuntu-drivers devices)."
        elif sel.edition == SERVER and ubuntu_package(replace(sel, edition=DESKTOP)) == recommended:
            headless = " for this headless node" if driver.default_target == "multi-user.target" else ""
            why = f"The server edition of Ubuntu's recommendation ({recommended}){headless}."
        else:
            why = f"R{sel.branch}, {sel.flavour} kernel modules, {sel.edition} edition" + (
                f" (Ubuntu recommends {recommended})." if recommended else "."
            )
        steps = nouveau_steps(driver, hw)
        steps.append(apt.update_step())
        steps.append(
            Step(
                "driver.install",
                f"Install the NVIDIA driver {package}",
                Layer.DRIVER,
                argv=(
                    *apt.INSTALL_ENV,
                    "ubuntu-drivers",
                    "install",
                    f"nvidia:{package.removeprefix('nvidia-driver-')}",
                ),
                skip_if=apt.installed_check([package]),
                verifies=("driver.module", "driver.nvml"),
                why=why
                + " ubuntu-drivers picks the precompiled, Canonical-signed kernel modules when Ubuntu has them"
                + (
                    "; should it fall back to DKMS, Secure Boot will want its key enrolled (gpuwiz doctor says how)."
                    if hw.secure_boot
                    else "."
                ),
            )
        )
        steps += _protect_steps([package], driver.unattended_blacklist)
        return steps

    def _debian(self, driver: DriverFacts, hw: HardwareFacts, sel: DriverSelection) -> list[Step]:
        codename = hw.os.codename or ""
        packaged = debian_branch(hw, driver)
        if packaged and sel.branch != packaged:
            raise InputError(
                "choices",
                f"driver.branch = {sel.branch}: Debian {codename} packages R{packaged}; "
                "pick that branch, or the CUDA repository method for another one",
            )
        if sel.flavour == OPEN and codename not in DEBIAN_OPEN_MODULES:
            raise InputError(
                "choices",
                f"driver.flavour = open: Debian {codename or 'here'} cannot install its open modules with its driver "
                "(nvidia-open-kernel-dkms lags behind nvidia-driver); pick proprietary, or the CUDA repository method",
            )
        steps = nouveau_steps(driver, hw)
        sources = apt.parse_sources(dict(driver.apt_sources))
        try:
            edit = apt.nonfree_sources_edit(
                sources, hw.os.codename, dict(driver.apt_sources).get(apt.NONFREE_SOURCES_PATH), distro="debian"
            )
        except apt.AptSourcesError as exc:  # the finding driver.apt-sources says how to add it
            raise NotAutomated(f"{exc}: add Debian's own archive first (see the finding driver.apt-sources).") from None
        if edit:
            steps.append(apt.nonfree_sources_step(edit))
        steps.append(apt.update_step())
        detected = driver.nvidia_detect.packages if driver.nvidia_detect else ()
        package = detected[0] if len(detected) == 1 else "nvidia-driver"
        modules = ["nvidia-open-kernel-dkms"] if sel.flavour == OPEN else []
        why = (
            "nvidia-detect's recommendation for this card" if detected else "Debian's packaged driver for this release"
        ) + "; DKMS builds the module for each installed kernel."
        steps.append(
            apt.install_step(
                [*modules, package, "firmware-misc-nonfree"],
                step_id="driver.install",
                title=f"Install Debian's NVIDIA driver ({package}, {sel.flavour} modules built by DKMS)",
                why=why,
            )
        )
        steps += mok_steps(hw)
        steps += _protect_steps([package], driver.unattended_blacklist)
        return steps


PLANNER = AptDriverPlanner()
