"""Which family a distribution belongs to, by /etc/os-release's ID and ID_LIKE."""

from __future__ import annotations

from .facts import OsInfo

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
