"""Reading containerd's config.toml (versions 1, 2 and 3): which CRI runtimes it defines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Where the CRI plugin keeps its containerd table, by config version.
CRI_PLUGIN = {1: "cri", 2: "io.containerd.grpc.v1.cri", 3: "io.containerd.cri.v1.runtime"}
CRI_PLUGIN_NAMES = ("cri", "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime")


@dataclass(frozen=True)
class ContainerdRuntimes:
    version: int
    runtimes: tuple[str, ...]
    default_runtime: str | None
    cri_disabled: bool
    imports: tuple[str, ...]


def config_version(data: dict[str, Any]) -> int:
    """containerd's own rule: a file without a `version` key is version 1."""
    version = data.get("version", 1)
    return version if isinstance(version, int) else 1


def read_runtimes(data: dict[str, Any]) -> ContainerdRuntimes:
    version = config_version(data)
    plugins = data.get("plugins", {})
    cri = plugins.get(CRI_PLUGIN.get(version, CRI_PLUGIN[2]), {}) if isinstance(plugins, dict) else {}
    containerd = cri.get("containerd", {}) if isinstance(cri, dict) else {}
    runtimes = containerd.get("runtimes", {}) if isinstance(containerd, dict) else {}
    disabled = data.get("disabled_plugins", [])
    imports = data.get("imports", [])
    return ContainerdRuntimes(
        version=version,
        runtimes=tuple(runtimes) if isinstance(runtimes, dict) else (),
        default_runtime=containerd.get("default_runtime_name") if isinstance(containerd, dict) else None,
        cri_disabled=isinstance(disabled, list) and any(p in CRI_PLUGIN_NAMES for p in disabled),
        imports=tuple(i for i in imports if isinstance(i, str)) if isinstance(imports, list) else (),
    )


def merge_runtimes(main: ContainerdRuntimes, dropins: list[ContainerdRuntimes]) -> ContainerdRuntimes:
    """containerd merges imported files over the main one."""
    runtimes = list(main.runtimes)
    default = main.default_runtime
    for d in dropins:
        runtimes += [r for r in d.runtimes if r not in runtimes]
        default = d.default_runtime or default
    return ContainerdRuntimes(main.version, tuple(runtimes), default, main.cri_disabled, main.imports)
