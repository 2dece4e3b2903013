"""Container toolkit facts: nvidia-ctk and friends, packages, NVIDIA's package sources."""

from __future__ import annotations

from collections.abc import Mapping

from ..facts import Package, ToolkitFacts
from ..host import Host
from ..parsers import parse_ctk_version
from .packages import is_toolkit_package

YUM_REPOS = "/etc/yum.repos.d"
NVIDIA_REPO_HOST = "nvidia.github.io"


def find_nvidia_sources(host: Host, apt_sources: Mapping[str, str]) -> tuple[str, ...]:
    """Source files apt or dnf reads that point at NVIDIA's container repository (stale ones included).

    `apt_sources`: the files apt reads (already read by the driver probe); a `.list.save` apt ignores
    cannot cause the Signed-By conflict, so it is not looked at.
    """
    found = [path for path, text in apt_sources.items() if NVIDIA_REPO_HOST in text]
    for name in host.list_dir(YUM_REPOS):
        if name.endswith(".repo") and NVIDIA_REPO_HOST in (host.read_text(f"{YUM_REPOS}/{name}") or ""):
            found.append(f"{YUM_REPOS}/{name}")
    return tuple(found)


def probe_toolkit(host: Host, packages: tuple[Package, ...], apt_sources: Mapping[str, str]) -> ToolkitFacts:
    ctk = host.which("nvidia-ctk")
    version = None
    if ctk:
        version = parse_ctk_version(host.run(["nvidia-ctk", "--version"]).stdout)
    cached = None
    if host.which("ldconfig"):
        result = host.run(["ldconfig", "-p"])
        if result.ok:
            cached = "libnvidia-ml.so.1 " in result.stdout
    return ToolkitFacts(
        ctk_path=ctk,
        ctk_version=version,
        cli_path=host.which("nvidia-container-cli"),
        runtime_path=host.which("nvidia-container-runtime"),
        packages=tuple(p for p in packages if is_toolkit_package(p.name)),
        nvidia_sources=find_nvidia_sources(host, apt_sources),
        libnvidia_ml_cached=cached,
    )
