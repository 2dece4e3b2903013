"""Which family a distribution belongs to, by /etc/os-release's ID and ID_LIKE."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Sequence

from gpuwiz.backends.facts import OsInfo

RHEL_FAMILY = ("rhel", "rocky", "almalinux", "centos", "ol")


def is_rhel_like(os: OsInfo | None) -> bool:
    return os is not None and (os.id in RHEL_FAMILY or "rhel" in os.id_like)


def package_family(os: OsInfo | None) -> str | None:
    """ "apt" (Debian, Ubuntu and their derivatives), "dnf" (the RHEL family, Fedora), else None."""
    if os is None:
        return None
    if os.id in ("ubuntu", "debian") or "debian" in os.id_like or "ubuntu" in os.id_like:
        return "apt"
    if is_rhel_like(os) or os.id == "fedora" or "fedora" in os.id_like:
        return "dnf"
    return None


@dataclass(frozen=True)
class PackageWords:
    """The commands and package names a fix text names, in this distribution's own terms."""

    family: str  # "apt" or "dnf"

    def hold(self, names: Sequence[str]) -> str:
        joined = shlex.join(names)
        if self.family == "dnf":
            return f"dnf versionlock add {joined} (dnf install python3-dnf-plugin-versionlock first)"
        return f"apt-mark hold {joined}"

    def install(self, names: Sequence[str]) -> str:
        return f"{'dnf -y' if self.family == 'dnf' else 'apt-get'} install {shlex.join(names)}"

    def headers(self, kernel: str) -> str:
        return f"kernel-devel-{kernel}" if self.family == "dnf" else f"linux-headers-{kernel}"

    @property
    def initramfs(self) -> str:
        return "dracut -f" if self.family == "dnf" else "update-initramfs -u"


def package_words(os: OsInfo | None) -> PackageWords:
    """This distribution's package words (apt's where the family is unknown: most nodes are Debian's kin)."""
    return PackageWords(package_family(os) or "apt")
