"""NVIDIA GPU catalogue: PCI device id → chip, name, architecture, compute capability; which driver branch fits.

Pure data and functions: nothing here reads the machine. The caller passes the system's pci.ids text when it has it;
otherwise the table shipped in ``data/nvidia-pci-ids.tsv`` answers (see ``data/README.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

ARCHITECTURES = (
    "Kepler",
    "Maxwell",
    "Pascal",
    "Volta",
    "Turing",
    "Ampere",
    "Ada Lovelace",
    "Hopper",
    "Blackwell",
)
PRE_KEPLER = (
    "Fermi or older"  # GF (Fermi), GT2xx/G8x/G9x (Tesla), NV (Curie and older): no current driver supports them
)

_PREFIX_ARCHITECTURE = {
    "GK": "Kepler",
    "GM": "Maxwell",
    "GP": "Pascal",
    "GV": "Volta",
    "TU": "Turing",
    "GA": "Ampere",
    "AD": "Ada Lovelace",
    "GH": "Hopper",
    "GB": "Blackwell",
}
_PRE_KEPLER_CHIP = re.compile(r"(GF|GT|G\d|NV)\d")

# Compute capability by chip, from NVIDIA's tables https://developer.nvidia.com/cuda-gpus and
# https://developer.nvidia.com/cuda-legacy-gpus (they list products; the product → chip mapping is pci.ids').
# GK180 is the chip of the Tesla K40 (3.5). GB110 is B300/GB300 (10.3), GB20B is GB10/DGX Spark (12.1), GB10B is
# Jetson Thor (11.0 since CUDA 13). Chips those tables do not name (GB102, GB112, GB120, GK11x) stay unknown ("").
COMPUTE_CAPABILITY = {
    **dict.fromkeys(("GK104", "GK106", "GK107"), "3.0"),
    "GK20A": "3.2",
    **dict.fromkeys(("GK110", "GK110B", "GK180", "GK208", "GK208B"), "3.5"),
    "GK210": "3.7",
    **dict.fromkeys(("GM107", "GM108"), "5.0"),
    **dict.fromkeys(("GM200", "GM204", "GM206"), "5.2"),
    "GM20B": "5.3",
    "GP100": "6.0",
    **dict.fromkeys(("GP102", "GP104", "GP106", "GP107", "GP108"), "6.1"),
    "GP10B": "6.2",
    "GV100": "7.0",
    "GV10B": "7.2",
    **dict.fromkeys(("TU102", "TU104", "TU106", "TU116", "TU117"), "7.5"),
    "GA100": "8.0",
    **dict.fromkeys(("GA102", "GA103", "GA104", "GA106", "GA107"), "8.6"),
    "GA10B": "8.7",
    **dict.fromkeys(("AD102", "AD103", "AD104", "AD106", "AD107"), "8.9"),
    "GH100": "9.0",
    "GB100": "10.0",
    "GB110": "10.3",
    "GB10B": "11.0",
    **dict.fromkeys(("GB202", "GB203", "GB205", "GB206", "GB207"), "12.0"),
    "GB20B": "12.1",
}

# The first word of a pci.ids device name when it is a chip code: GA106, GP108M, GK110BGL, GT200b, G92, NV43.
_CHIP = re.compile(r"[A-Z]{1,3}\d+[0-9A-Za-z]*(?=[\s\[]|$)")
# What follows the chip: "[name]", or a board code first ("/ GN22-X11 [name]"); else the text is kept whole, so
# "GM107 High Definition Audio Controller [GeForce 940MX]" stays an audio function, not a GPU.
_BRACKETED = re.compile(r"(?:/\s*\S+\s*)?\[(.*)\]")
_VARIANT_SUFFIX = re.compile(r"(GLM|GL|BM|M)$")  # mobile / professional variants of the same silicon
_DEVICE_LINE = re.compile(r"\t([0-9a-fA-F]{4})  (.*)")
_VENDOR_LINE = re.compile(r"[0-9a-fA-F]{4}  ")
NVIDIA_VENDOR = "10de"


@dataclass(frozen=True)
class GpuModel:
    device_id: str  # 2504
    chip: str  # as pci.ids writes it: GA106, GP108M, GK180GL; "" when pci.ids names none
    name: str  # GeForce RTX 3060 Lite Hash Rate; "" when pci.ids has only the chip
    architecture: str  # one of ARCHITECTURES, PRE_KEPLER, or "" (unknown)
    compute_capability: str  # "8.6"; "" when unknown


def base_chip(chip: str) -> str:
    """The silicon behind a variant code: GP108M → GP108, GK110BGL → GK110B, GA107BM → GA107."""
    return _VARIANT_SUFFIX.sub("", chip)


def architecture_of(chip: str) -> str:
    if chip[:2] in _PREFIX_ARCHITECTURE and chip[2:3].isdigit():
        return _PREFIX_ARCHITECTURE[chip[:2]]
    return PRE_KEPLER if _PRE_KEPLER_CHIP.match(chip) else ""


def split_device_name(text: str) -> tuple[str, str]:
    """'GB203M / GN22 [GeForce RTX 5090 Max-Q / Mobile]' → ('GB203M', 'GeForce RTX 5090 Max-Q / Mobile')."""
    text = text.strip()
    match = _CHIP.match(text)
    if not match:
        return "", text
    rest = text[match.end() :].strip()
    bracketed = _BRACKETED.fullmatch(rest)
    return match.group(), (bracketed.group(1) if bracketed else rest).strip()


def parse_pci_ids(text: str) -> dict[str, tuple[str, str]]:
    """The NVIDIA vendor section of a pci.ids text: device id → (chip, name). Subsystem lines are skipped."""
    devices: dict[str, tuple[str, str]] = {}
    inside = False
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if not line.startswith("\t"):
            if inside:
                break  # the next vendor (or the device-class lists at the end)
            inside = bool(_VENDOR_LINE.match(line)) and line[:4].lower() == NVIDIA_VENDOR
            continue
        match = _DEVICE_LINE.fullmatch(line) if inside else None
        if match:
            devices[match.group(1).lower()] = split_device_name(match.group(2))
    return devices


@lru_cache(maxsize=1)
def _shipped() -> dict[str, tuple[str, str]]:
    text = resources.files(__package__).joinpath("data/nvidia-pci-ids.tsv").read_text(encoding="utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line and not line.startswith(("#", "device_id\t")))
    return {device_id: (chip, name) for device_id, chip, name in rows}


@lru_cache(maxsize=2)
def _parsed(system_pci_ids: str) -> dict[str, tuple[str, str]]:
    return parse_pci_ids(system_pci_ids)


def _normalise_id(device_id: str) -> str | None:
    vendor, _, value = device_id.strip().lower().rpartition(":")
    value = value.removeprefix("0x")
    if vendor not in ("", NVIDIA_VENDOR) or not re.fullmatch(r"[0-9a-f]{4}", value):
        return None
    return value


def lookup(device_id: str, system_pci_ids: str | None = None) -> GpuModel | None:
    """The NVIDIA GPU behind a PCI device id ("2504", "10de:2504", "0x2504"); None when nobody knows it.

    The system's pci.ids wins (a newer machine knows newer cards); the shipped table covers an older system file.
    """
    key = _normalise_id(device_id)
    if key is None:
        return None
    entry = _parsed(system_pci_ids).get(key) if system_pci_ids else None
    entry = entry or _shipped().get(key)
    if entry is None:
        return None
    chip, name = entry
    return GpuModel(key, chip, name, architecture_of(chip), COMPUTE_CAPABILITY.get(base_chip(chip), ""))


# Driver branch → the newest CUDA it supports: "CUDA Toolkit and Corresponding Driver Versions" (Table 3) in the
# CUDA release notes, https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/ (13.2 edition; 610 from the 13.3
# edition: CUDA 13.3 GA >= 610.43.02). R565 is left out: no CUDA toolkit release names it.
BRANCH_CUDA = {
    "470": "11.4",
    "535": "12.2",
    "545": "12.3",
    "550": "12.4",
    "555": "12.5",
    "560": "12.6",
    "570": "12.8",
    "575": "12.9",
    "580": "13.0",
    "590": "13.1",
    "595": "13.2",
    "610": "13.3",
}

# Architecture → (first, last) supported branch; 0 / 9999: no bound among BRANCH_CUDA's branches.
# - Kepler ends with R470 and Maxwell, Pascal, Volta with R580: NVIDIA's "Unix graphics feature deprecation
#   schedule" (forums.developer.nvidia.com/t/unix-graphics-feature-deprecation-schedule/60588) and legacy GPU list
#   (nvidia.com/en-us/drivers/unix/legacy-gpu/); CUDA 13.0 release notes drop Maxwell/Pascal/Volta.
# - Ada Lovelace and Hopper first appear with CUDA 11.8 / R520; Blackwell with CUDA 12.8 / R570 (Table 3 above).
SUPPORTED_BRANCHES = {
    "Kepler": (0, 470),
    "Maxwell": (0, 580),
    "Pascal": (0, 580),
    "Volta": (0, 580),
    "Turing": (0, 9999),
    "Ampere": (0, 9999),
    "Ada Lovelace": (520, 9999),
    "Hopper": (520, 9999),
    "Blackwell": (570, 9999),
}

# Open kernel modules: published from R515, Turing or newer only (they need the GSP); the default and recommended
# flavour from R560; the only flavour that drives Blackwell (and Grace Hopper). One flavour drives every GPU in a
# machine, so pre-Turing plus Blackwell has no working driver. Sources: NVIDIA driver installation guide, "Kernel
# Modules" (docs.nvidia.com/datacenter/tesla/driver-installation-guide/kernel-modules.html) and the NVIDIA blog
# "NVIDIA Transitions Fully Towards Open-Source GPU Kernel Modules" (2024).
OPEN_MODULES_FIRST = 515
OPEN_MODULES_DEFAULT = 560
PRE_TURING = frozenset(ARCHITECTURES[:4])


@dataclass(frozen=True)
class BranchChoice:
    branch: str  # "580"
    cuda_version: str  # the newest CUDA the branch supports: "13.0"
    open_modules: str  # "required" | "recommended" | "optional" (supported, not yet the default) | "unsupported"
    legacy: bool  # an architecture present ends with this branch: newer branches dropped it
    reason: str


def _branch_number(text: str) -> str | None:
    match = re.search(r"\d{3}", text)  # "535", "R535", "nvidia-driver-535-server-open"
    return match.group() if match else None


def _and(words: list[str]) -> str:
    return f"{', '.join(words[:-1])} and {words[-1]}" if len(words) > 1 else words[0]


def _open_modules(architectures: set[str], branch: int) -> str:
    if architectures & PRE_TURING or branch < OPEN_MODULES_FIRST:
        return "unsupported"
    if "Blackwell" in architectures:
        return "required"
    return "recommended" if branch >= OPEN_MODULES_DEFAULT else "optional"


def recommend_branch(architectures: list[str], available_branches: list[str] | None = None) -> BranchChoice | None:
    """The newest known branch that drives every architecture present, or None when there is none.

    None: no GPU, a pre-Kepler or unknown architecture, architectures no single branch spans (Kepler with Ada), or
    pre-Turing with Blackwell (no kernel-module flavour drives both). ``available_branches`` limits the choice to what
    the distribution offers; branches missing from BRANCH_CUDA are ignored.
    """
    present = set(architectures)
    if not present or not present <= set(SUPPORTED_BRANCHES):
        return None
    if present & PRE_TURING and "Blackwell" in present:
        return None
    candidates = set(BRANCH_CUDA)
    if available_branches is not None:
        candidates &= {_branch_number(b) for b in available_branches}
    for branch in sorted(candidates, key=int, reverse=True):
        number = int(branch)
        if all(SUPPORTED_BRANCHES[a][0] <= number <= SUPPORTED_BRANCHES[a][1] for a in present):
            break
    else:
        return None
    ordered = [a for a in ARCHITECTURES if a in present]
    ending = [a for a in ordered if SUPPORTED_BRANCHES[a][1] == number]
    open_modules = _open_modules(present, number)
    offered = " offered" if available_branches is not None else ""
    if ending:
        dropped = "it" if len(ending) == 1 else "them"
        reason = f"R{branch} is the last branch that supports {_and(ending)}; newer ones dropped {dropped}"
    else:
        reason = f"R{branch} is the newest{offered} branch that supports {_and(ordered)}"
    if open_modules == "required":
        reason += "; Blackwell needs the open kernel modules"
    return BranchChoice(branch, BRANCH_CUDA[branch], open_modules, bool(ending), reason + ".")


def branches_for(architectures: list[str]) -> list[BranchChoice]:
    """Every known branch that drives all these architectures, newest first (what a user may pick)."""
    present = set(architectures)
    if not present or not present <= set(SUPPORTED_BRANCHES) or (present & PRE_TURING and "Blackwell" in present):
        return []
    out = []
    for branch in sorted(BRANCH_CUDA, key=int, reverse=True):
        number = int(branch)
        if all(SUPPORTED_BRANCHES[a][0] <= number <= SUPPORTED_BRANCHES[a][1] for a in present):
            ending = any(SUPPORTED_BRANCHES[a][1] == number for a in present)
            out.append(BranchChoice(branch, BRANCH_CUDA[branch], _open_modules(present, number), ending, ""))
    return out
