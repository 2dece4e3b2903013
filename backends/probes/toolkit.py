"""Container toolkit facts: nvidia-ctk and friends, packages, NVIDIA's package sources."""

from __future__ import annotations

import re
from collections.abc import Mapping

from gpuwiz.backends.facts import Package, ToolkitFacts
from gpuwiz.backends.machine.host import Host
from gpuwiz.backends.packages.signed_repo import KeyState, key_state
from gpuwiz.backends.packages.toolkit_repo import REPO_HOST, apt_key, dnf_repo
from gpuwiz.backends.parsers import parse_ctk_version
from gpuwiz.backends.probes.packages import is_toolkit_package

# Entries of older install guides: per-distribution paths (stable/ubuntu18.04/$(ARCH), centos7/…) and the
# nvidia-docker / nvidia-container-runtime repositories; NVIDIA serves only stable/deb and stable/rpm now.
OUTDATED_URL = re.compile(
    r"^[ \t]*(?:deb\s.*|baseurl\s*=.*|URIs:.*)nvidia\.github\.io/(?:nvidia-docker|nvidia-container-runtime|"
    r"libnvidia-container/(?:stable|experimental)/(?!deb\b|rpm\b))",
    re.MULTILINE,
)


def find_nvidia_sources(sources: Mapping[str, str]) -> tuple[str, ...]:
    """Source files apt or dnf reads that point at NVIDIA's container repository (stale ones included).

    `sources`: the files apt and dnf read (already read by the driver probe); a `.list.save` apt
    ignores cannot cause the Signed-By conflict, so it is not looked at.
    """
    return tuple(path for path, text in sources.items() if REPO_HOST in text)


def probe_toolkit(host: Host, packages: tuple[Package, ...], sources: Mapping[str, str]) -> ToolkitFacts:
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
        nvidia_sources=find_nvidia_sources(sources),
        libnvidia_ml_cached=cached,
        keyring=_keyring(host),
        outdated_sources=tuple(p for p, t in sources.items() if REPO_HOST in t and OUTDATED_URL.search(t)),
    )


def _keyring(host: Host) -> str | None:
    state = key_state(host, apt_key() if host.which("apt-get") else dnf_repo().key)
    return None if state is KeyState.MISSING else state.value
