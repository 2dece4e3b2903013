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
    systemd_cgroup: tuple[tuple[str, bool], ...] = ()  # runtime → options.SystemdCgroup, where set
    cdi: bool | None = None  # enable_cdi; None: not set


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
    systemd = []
    for name, entry in runtimes.items() if isinstance(runtimes, dict) else ():
        options = entry.get("options") if isinstance(entry, dict) else None
        if isinstance(options, dict) and isinstance(options.get("SystemdCgroup"), bool):
            systemd.append((name, options["SystemdCgroup"]))
    cdi = cri.get("enable_cdi") if isinstance(cri, dict) and isinstance(cri.get("enable_cdi"), bool) else None
    return ContainerdRuntimes(
        version=version,
        runtimes=tuple(runtimes) if isinstance(runtimes, dict) else (),
        default_runtime=containerd.get("default_runtime_name") if isinstance(containerd, dict) else None,
        cri_disabled=isinstance(disabled, list) and any(p in CRI_PLUGIN_NAMES for p in disabled),
        imports=tuple(i for i in imports if isinstance(i, str)) if isinstance(imports, list) else (),
        systemd_cgroup=tuple(systemd),
        cdi=cdi,
    )


def merge_runtimes(main: ContainerdRuntimes, dropins: list[ContainerdRuntimes]) -> ContainerdRuntimes:
    """containerd merges imported files over the main one."""
    runtimes = list(main.runtimes)
    default = main.default_runtime
    systemd = dict(main.systemd_cgroup)
    cdi = main.cdi
    for d in dropins:
        runtimes += [r for r in d.runtimes if r not in runtimes]
        default = d.default_runtime or default
        systemd.update(d.systemd_cgroup)
        cdi = d.cdi if d.cdi is not None else cdi
    return ContainerdRuntimes(
        main.version, tuple(runtimes), default, main.cri_disabled, main.imports, tuple(systemd.items()), cdi
    )
