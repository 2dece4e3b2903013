"""The NVIDIA packages the package manager knows (dpkg, else rpm), queried once per probe run."""

from __future__ import annotations

from gpuwiz.backends.facts import Package
from gpuwiz.backends.machine.host import Host
from gpuwiz.backends.parsers import dpkg_on_disk, parse_dpkg_query, parse_rpm_query

DPKG_FORMAT = "${Package}\\t${Version}\\t${db:Status-Abbrev}\\n"
RPM_FORMAT = "%{NAME}\\t%{VERSION}-%{RELEASE}\\n"
# dpkg-query patterns: driver (Ubuntu, Debian, NVIDIA's CUDA repository) and container toolkit.
PACKAGE_PATTERNS = (
    "nvidia-driver*",
    "nvidia-dkms-*",
    "nvidia-kernel-*",
    "nvidia-utils-*",
    "libnvidia-compute-*",
    "linux-modules-nvidia-*",
    "nvidia-open*",
    "cuda-drivers*",
    "nvidia-container-toolkit*",
    "libnvidia-container*",
)
TOOLKIT_PREFIXES = ("nvidia-container-toolkit", "libnvidia-container", "nvidia-container-runtime", "nvidia-docker")


def is_toolkit_package(name: str) -> bool:
    return name.startswith(TOOLKIT_PREFIXES)


def is_driver_package(name: str) -> bool:
    return not is_toolkit_package(name)


def query_packages(host: Host) -> tuple[Package, ...]:
    if host.which("dpkg-query"):
        result = host.run(["dpkg-query", "-W", "-f", DPKG_FORMAT, *PACKAGE_PATTERNS])
        # half-configured (iF) and unpacked (iU) too: a failed DKMS build leaves the driver's packages so
        found = [p for p in parse_dpkg_query(result.stdout) if dpkg_on_disk(p.status)]
    elif host.which("rpm"):
        result = host.run(["rpm", "-qa", "--qf", RPM_FORMAT])
        found = [p for p in parse_rpm_query(result.stdout) if "nvidia" in p.name or p.name.startswith("cuda-drivers")]
    else:
        return ()
    # multiarch (amd64 + i386) lists a package once per architecture under one name
    unique: dict[str, Package] = {}
    for package in found:
        unique.setdefault(package.name, package)
    return tuple(unique.values())
