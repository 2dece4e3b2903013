"""Pure parsers of real tool outputs and system files (text in, data out)."""

from __future__ import annotations

import re
import shlex

from gpuwiz.backends.facts import OsInfo, Package, dpkg_state


def parse_os_release(text: str) -> OsInfo:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            parts = [raw.strip("\"'")]
        values[key] = parts[0] if parts else ""
    return OsInfo(
        id=values.get("ID", "linux"),
        version_id=values.get("VERSION_ID", ""),
        pretty_name=values.get("PRETTY_NAME", values.get("NAME", "Linux")),
        id_like=tuple(values.get("ID_LIKE", "").split()),
        codename=values.get("VERSION_CODENAME") or values.get("UBUNTU_CODENAME", ""),
    )


_LSPCI_NN = re.compile(
    r"^(?P<addr>[0-9a-fA-F:.]+)\s+(?P<cls>.*?)\s\[(?P<cc>[0-9a-fA-F]{4})\]:\s(?P<desc>.*?)\s\[(?P<ven>[0-9a-fA-F]{4}):(?P<dev>[0-9a-fA-F]{4})\]"
)


def parse_lspci_nn(text: str) -> dict[str, str]:
    """`lspci -nn` -> {"0000:2f:00.0": "NVIDIA Corporation GA106 [GeForce RTX 3060 Lite Hash Rate]"}."""
    names: dict[str, str] = {}
    for line in text.splitlines():
        m = _LSPCI_NN.match(line.strip())
        if not m:
            continue
        addr = m.group("addr").lower()
        if addr.count(":") == 1:
            addr = "0000:" + addr
        names[addr] = m.group("desc")
    return names


def parse_proc_modules(text: str) -> tuple[str, ...]:
    return tuple(line.split()[0] for line in text.splitlines() if line.strip())


_NVRM_VERSION = re.compile(r"Kernel Module(?: for [a-z0-9_]+)?\s+(\d+\.\d+(?:\.\d+)?)")


def parse_proc_driver_version(text: str) -> str | None:
    """`/proc/driver/nvidia/version` -> "535.154.05" (proprietary or open kernel module)."""
    m = _NVRM_VERSION.search(text)
    return m.group(1) if m else None


def parse_dpkg_query(text: str) -> tuple[Package, ...]:
    """Lines of `dpkg-query -W -f='${Package}\\t${Version}\\t${db:Status-Abbrev}\\n'`."""
    out = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0]:
            out.append(Package(parts[0], parts[1], parts[2]))
    return tuple(p for p in out if p.version)


# dpkg's db:Status-Abbrev: desired action, package state, error flag (dpkg-query(1)).
def dpkg_on_disk(abbrev: str) -> bool:
    """The package's files are (at least partly) there: every state but not-installed and config-files."""
    return dpkg_state(abbrev) not in ("not-installed", "config-files", "unknown")


def parse_rpm_query(text: str) -> tuple[Package, ...]:
    """Lines of `rpm -qa --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\n'`."""
    out = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0]:
            out.append(Package(parts[0], parts[1], "installed"))
    return tuple(out)


def parse_mokutil_sb_state(text: str) -> bool | None:
    lowered = text.lower()
    if "secureboot enabled" in lowered:
        return True
    if "secureboot disabled" in lowered:
        return False
    return None


def parse_ctk_version(text: str) -> str | None:
    """`nvidia-ctk --version` -> "1.14.3"."""
    m = re.search(r"version\s+v?(\d+\.\d+\.\d+\S*)", text)
    return m.group(1) if m else None


def parse_first_version(text: str) -> str | None:
    """The first dotted version in a tool's --version line (containerd, docker, crio)."""
    m = re.search(r"\bv?(\d+\.\d+(?:\.\d+)?(?:[-~+][0-9A-Za-z.~+-]+)?)", text)
    return m.group(1) if m else None


VERSIONLOCK_LIST = "/etc/dnf/plugins/versionlock.list"
_LOCK = re.compile(r"(?P<name>.+?)-(?:\d+:)?[^-:]+-[^-]+$")


def parse_versionlock(text: str) -> tuple[str, ...]:
    """The package names dnf's versionlock plugin holds: one `NAME-[EPOCH:]VERSION-RELEASE.*` line
    each (dnf-plugins-core's versionlock.py); `!` lines are excludes, not locks."""
    names = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "!")):
            continue
        m = _LOCK.match(line)
        if m:
            names.append(m.group("name"))
    return tuple(names)
