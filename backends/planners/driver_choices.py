"""What the driver layer lets the user choose on this machine, and what it recommends.

- no driver yet: the install method (the distribution's way, or NVIDIA's CUDA repository), the
  branch (every branch that drives all the GPUs here), the kernel-module flavour (open where
  supported, the only one for Blackwell; proprietary before Turing) and, on Ubuntu, the desktop
  or server edition (server for a headless node);
- a driver installed: keep it, or remove it (asks for a confirmation first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from gpuwiz.backends.doctor import DoctorReport
from gpuwiz.backends.facts import DriverFacts, HardwareFacts
from gpuwiz.backends.findings import Layer
from gpuwiz.backends.gpu_catalog import BRANCH_CUDA, BranchChoice, branches_for, recommend_branch
from gpuwiz.backends.machine.distro import is_rhel_like
from gpuwiz.backends.packages.cuda_repo import repo_for
from gpuwiz.backends.planners.choices import Choice, Option, Selections, effective

METHOD_UBUNTU = "ubuntu-drivers"
METHOD_DISTRO = "distro"
METHOD_CUDA = "cuda-repo"
ACTION_KEEP = "keep"
ACTION_REMOVE = "remove"
OPEN = "open"
PROPRIETARY = "proprietary"
DESKTOP = "desktop"
SERVER = "server"
# The branch each Debian release packages (non-free nvidia-driver): packages.debian.org.
DEBIAN_BRANCH = {"bookworm": "535", "trixie": "550"}
# Releases whose nvidia-open-kernel-dkms installs with their nvidia-driver. Not bookworm: its open modules
# stayed at 535.261.03 while security updates moved nvidia-driver to 535.309.01, and `apt-get -s install
# nvidia-open-kernel-dkms nvidia-driver` fails there (checked against deb.debian.org on 2026-11-22).
DEBIAN_OPEN_MODULES = ("trixie",)
BRANCH_OPTIONS = 6
# Every driver key and the values it takes on some machine (answers files are checked against
# these for typos; a value valid elsewhere but not here is fitted, see choices.fit_selections).
DRIVER_KEYS = {
    "driver.action": f"{ACTION_KEEP}|{ACTION_REMOVE}",
    "driver.method": f"{METHOD_UBUNTU}|{METHOD_DISTRO}|{METHOD_CUDA}",
    "driver.branch": r"\d{3}",
    "driver.flavour": f"{OPEN}|{PROPRIETARY}",
    "driver.edition": f"{DESKTOP}|{SERVER}",
}


@dataclass(frozen=True)
class DriverSelection:
    """The effective driver choices: the user's where made, else the recommendation."""

    action: str = ACTION_KEEP
    method: str = ""
    branch: str = ""
    flavour: str = OPEN
    edition: str = DESKTOP
    why_method: str = ""  # the method follows a branch or flavour only NVIDIA's repository has

    @property
    def remove(self) -> bool:
        return self.action == ACTION_REMOVE


def debian_branch(hw: HardwareFacts, driver: DriverFacts) -> str | None:
    """The branch Debian's packages give these GPUs: nvidia-detect's pick (legacy 470 packages
    included), else the release's nvidia-driver."""
    detected = driver.nvidia_detect.packages if driver.nvidia_detect else ()
    for package in detected:
        match = re.search(r"-(\d{3})-", package)
        if match:
            return match.group(1)
    return DEBIAN_BRANCH.get(hw.os.codename or "") if hw.os else None


def architectures(hw: HardwareFacts) -> list[str]:
    return [d.model.architecture for d in hw.nvidia_gpus if d.model]


def installed(driver: DriverFacts) -> bool:
    # a driver container, Talos, NixOS or a .run install is a driver too: never plan packages on top of it
    return bool(driver.packages) or driver.run_installer or driver.source is not None


def _ubuntu_offered(driver: DriverFacts) -> list[str]:
    return [d.package for dev in driver.ubuntu_drivers or () for d in dev.drivers]


def _branch_of(package: str) -> str | None:
    match = re.match(r"nvidia-driver-(\d+)", package)
    return match.group(1) if match else None


def _ubuntu_recommendation(driver: DriverFacts) -> str | None:
    for device in driver.ubuntu_drivers or ():
        if device.recommended:
            return device.recommended.package
    return None


def _method_choice(hw: HardwareFacts, driver: DriverFacts, usable: list[BranchChoice]) -> Choice | None:
    os_id = hw.os.id if hw.os else ""
    if is_rhel_like(hw.os) and repo_for(hw) is None:
        return None  # no other method there, and no key gpuwiz can check for this release
    cuda = Option(METHOD_CUDA, "NVIDIA CUDA repo", "every branch, DKMS" if repo_for(hw) else "no checked key here")
    if os_id == "ubuntu":
        return Choice(
            "driver.method",
            Layer.DRIVER,
            "Install method",
            (
                Option(METHOD_UBUNTU, "Ubuntu (ubuntu-drivers)", "signed modules"),
                cuda,
            ),
            METHOD_UBUNTU,
            "Ubuntu's precompiled modules are signed for Secure Boot and follow kernel updates without DKMS.",
        )
    if os_id == "debian":
        codename = hw.os.codename or ""
        packaged = debian_branch(hw, driver)
        distro = Option(METHOD_DISTRO, "Debian non-free", f"R{packaged}" if packaged else "")
        if packaged and usable and not any(b.branch == packaged for b in usable):
            return Choice(
                "driver.method",
                Layer.DRIVER,
                "Install method",
                (distro, cuda),
                METHOD_CUDA,
                f"Debian {codename} packages R{packaged}, which does not drive these GPUs; NVIDIA's repository has newer.",
            )
        return Choice(
            "driver.method",
            Layer.DRIVER,
            "Install method",
            (distro, cuda),
            METHOD_DISTRO,
            "Debian's own packages: security updates with the rest of the system.",
        )
    if is_rhel_like(hw.os):
        return Choice(
            "driver.method",
            Layer.DRIVER,
            "Install method",
            (cuda,),
            METHOD_CUDA,
            "RHEL and its rebuilds ship no NVIDIA driver; NVIDIA's repository is the supported source.",
        )
    return None


def driver_choices(report: DoctorReport) -> list[Choice]:
    facts = report.facts
    hw, driver = facts.hardware, facts.driver
    if driver is None or hw.os is None or not hw.nvidia_gpus:
        return []
    if installed(driver):
        return [
            Choice(
                "driver.action",
                Layer.DRIVER,
                "Installed driver",
                (
                    Option(ACTION_KEEP, "Keep it", "repair, protect"),
                    Option(
                        ACTION_REMOVE,
                        "Remove it",
                        "purge the packages",
                        confirm="Remove the NVIDIA driver packages? GPU containers and CUDA stop working "
                        "until a driver is installed again.",
                    ),
                ),
                ACTION_KEEP,
                "A driver is installed; gpuwiz repairs and protects it rather than replacing it.",
            )
        ]
    usable = branches_for(architectures(hw))
    method = _method_choice(hw, driver, usable)
    if method is None or not usable:
        return [method] if method else []
    choices = [method]
    offered = _ubuntu_offered(driver) if hw.os.id == "ubuntu" else []
    offered_branches = {b for b in map(_branch_of, offered) if b}
    recommended = _recommended_branch(hw, driver, usable, offered_branches)
    repo_only = _repo_only_branches(hw, driver, usable, offered_branches)
    has_repo = repo_for(hw) is not None and METHOD_CUDA in method.values
    options = []
    for b in [*usable[:BRANCH_OPTIONS], *(b for b in usable if b.branch == recommended.branch)]:
        if b.branch in {o.value for o in options}:
            continue
        if b.branch in repo_only and not has_repo and b.branch != recommended.branch:
            continue  # no method here installs it
        note = f"CUDA {b.cuda_version}"
        if b.legacy:
            note += ", last for the oldest GPU"
        requires: tuple[tuple[str, str], ...] = ()
        if b.branch in repo_only:
            note += ", repo only"
            requires = (("driver.method", METHOD_CUDA),)
        options.append(Option(b.branch, f"R{b.branch}", note, requires=requires))
    reason = recommended.reason
    if any(o.requires for o in options):
        reason += " A repo only branch chooses the CUDA repo method with it."
    choices.append(Choice("driver.branch", Layer.DRIVER, "Driver branch", tuple(options), recommended.branch, reason))
    choices.append(_flavour_choice(recommended, debian_open=_debian_open(hw) if hw.os.id == "debian" else True))
    if hw.os.id == "ubuntu":
        headless = driver.default_target == "multi-user.target"
        choices.append(
            Choice(
                "driver.edition",
                Layer.DRIVER,
                "Edition (Ubuntu)",
                (
                    Option(DESKTOP, "Desktop", "with X/Wayland parts"),
                    Option(SERVER, "Server", "datacenter release"),
                ),
                SERVER if headless else DESKTOP,
                "This node boots to a text console (headless): the server edition."
                if headless
                else "This machine boots to a desktop: the desktop edition.",
            )
        )
    return choices


def _repo_only_branches(
    hw: HardwareFacts, driver: DriverFacts, usable: list[BranchChoice], ubuntu_offered: set[str]
) -> set[str]:
    """The branches the distribution's own installer lacks here: only NVIDIA's repository has them."""
    if hw.os is None:
        return set()
    if hw.os.id == "ubuntu":
        return {b.branch for b in usable if ubuntu_offered and b.branch not in ubuntu_offered}
    if hw.os.id == "debian":
        packaged = debian_branch(hw, driver)
        return {b.branch for b in usable if packaged and b.branch != packaged}
    return set()


def _debian_open(hw: HardwareFacts) -> bool:
    """Whether Debian's own packages have open kernel modules that install with its driver here."""
    return bool(hw.os and (hw.os.codename or "") in DEBIAN_OPEN_MODULES)


def _recommended_branch(
    hw: HardwareFacts, driver: DriverFacts, usable: list[BranchChoice], offered: set[str]
) -> BranchChoice:
    packaged = debian_branch(hw, driver) if hw.os and hw.os.id == "debian" else None
    debian = next((b for b in usable if b.branch == packaged), None)
    if debian:
        return BranchChoice(
            debian.branch,
            debian.cuda_version,
            debian.open_modules,
            debian.legacy,
            f"The branch Debian {hw.os.codename} packages (R{debian.branch}); the CUDA repository has newer ones.",
        )
    ubuntu_pick = _ubuntu_recommendation(driver)
    if ubuntu_pick and _branch_of(ubuntu_pick) in BRANCH_CUDA:
        branch = _branch_of(ubuntu_pick)
        found = next((b for b in usable if b.branch == branch), None)
        if found:
            return BranchChoice(
                found.branch,
                found.cuda_version,
                found.open_modules,
                found.legacy,
                f"Ubuntu's own recommendation for these GPUs ({ubuntu_pick}).",
            )
    pick = recommend_branch(architectures(hw), sorted(offered) if offered else None) or recommend_branch(
        architectures(hw)
    )
    return pick or usable[0]


def _flavour_choice(branch: BranchChoice, *, debian_open: bool = True) -> Choice:
    """`debian_open`: False where Debian's packages cannot install the open modules (they come
    from NVIDIA's repository there)."""
    open_opt = Option(OPEN, "Open", "Turing and newer")
    if not debian_open:
        open_opt = Option(OPEN, "Open", "Turing and newer, repo only", requires=(("driver.method", METHOD_CUDA),))
    prop_opt = Option(PROPRIETARY, "Proprietary", "needed before Turing")
    if branch.open_modules == "required":
        return Choice(
            "driver.flavour",
            Layer.DRIVER,
            "Kernel modules",
            (open_opt,),
            OPEN,
            "Blackwell GPUs run only with the open kernel modules.",
        )
    if branch.open_modules == "unsupported":
        return Choice(
            "driver.flavour",
            Layer.DRIVER,
            "Kernel modules",
            (prop_opt,),
            PROPRIETARY,
            "A GPU here is older than Turing: only the proprietary modules drive it.",
        )
    if branch.open_modules == "recommended":
        return Choice(
            "driver.flavour",
            Layer.DRIVER,
            "Kernel modules",
            (open_opt, prop_opt),
            OPEN,
            f"NVIDIA's recommended flavour for Turing and newer since R560 (R{branch.branch} here).",
        )
    return Choice(
        "driver.flavour",
        Layer.DRIVER,
        "Kernel modules",
        (open_opt, prop_opt),
        PROPRIETARY,
        f"R{branch.branch} predates R560, where the open modules became NVIDIA's default.",
    )


def driver_selection(report: DoctorReport, selections: Selections) -> DriverSelection:
    values = effective(driver_choices(report), selections)
    sel = DriverSelection(
        action=values.get("driver.action", ACTION_KEEP),
        method=values.get("driver.method", ""),
        branch=values.get("driver.branch", ""),
        flavour=values.get("driver.flavour", OPEN),
        edition=values.get("driver.edition", DESKTOP),
    )
    if sel.method not in (METHOD_UBUNTU, METHOD_DISTRO):
        return sel
    # the branch decides (it fixes the CUDA version containers see, the same on every node of a
    # cluster): one the distribution's installer lacks comes from NVIDIA's repository, said in a note
    lacks = _distro_lacks(report.facts.hardware, report.facts.driver, sel, picked=set(selections))
    if lacks and repo_for(report.facts.hardware) is not None:
        return replace(sel, method=METHOD_CUDA, why_method=f"{lacks}: it comes from NVIDIA's CUDA repository.")
    return sel


def _distro_lacks(hw: HardwareFacts, driver: DriverFacts | None, sel: DriverSelection, *, picked: set[str]) -> str:
    """What the user picked (`picked`: the keys) that the distribution's own method cannot install
    here; "" when it can."""
    if driver is None or hw.os is None:
        return ""
    if sel.method == METHOD_UBUNTU:
        offered = {b for b in map(_branch_of, _ubuntu_offered(driver)) if b}
        if "driver.branch" in picked and offered and sel.branch not in offered:
            return (
                f"Ubuntu offers no R{sel.branch} for these GPUs (its branches: {', '.join(sorted(offered, key=int))})"
            )
        return ""
    packaged = debian_branch(hw, driver)
    codename = hw.os.codename or ""
    if "driver.branch" in picked and packaged and sel.branch != packaged:
        return f"Debian {codename} packages R{packaged}, not R{sel.branch}"
    if "driver.flavour" in picked and sel.flavour == OPEN and codename not in DEBIAN_OPEN_MODULES:
        return f"Debian {codename} has no open kernel modules for its driver"
    return ""
