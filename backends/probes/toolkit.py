"""Container toolkit facts: nvidia-ctk and friends, packages, NVIDIA's package sources."""

from __future__ import annotations

from ..facts import Package, ToolkitFacts
from ..host import Host
from ..parsers import parse_ctk_version
from .packages import is_toolkit_package

SOURCE_DIRS = ("/etc/apt/sources.list.d", "/etc/yum.repos.d")
NVIDIA_REPO_HOST = "nvidia.github.io"


def find_nvidia_sources(host: Host) -> tuple[str, ...]:
    """Package source files that point at NVIDIA's container repository (stale ones included)."""
    found = []
    candidates = ["/etc/apt/sources.list"]
    for folder in SOURCE_DIRS:
        candidates += [f"{folder}/{name}" for name in host.list_dir(folder)]
    for path in candidates:
        text = host.read_text(path)
        if text and NVIDIA_REPO_HOST in text:
            found.append(path)
    return tuple(found)


def probe_toolkit(host: Host, packages: tuple[Package, ...]) -> ToolkitFacts:
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
        nvidia_sources=find_nvidia_sources(host),
        libnvidia_ml_cached=cached,
    )
