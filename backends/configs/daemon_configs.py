"""Which config file each running daemon really reads: its command line, else its unit, else the default.

kops starts containerd with `-c /etc/containerd/config-kops.toml`, others give dockerd
`--config-file`: reading /etc/containerd/config.toml there reports a runtime in a file the daemon
never reads. The running process's argv (`pgrep -a -x NAME`) comes first, then the systemd unit's
ExecStart (`systemctl show -p ExecStart --value UNIT`), then the daemon's built-in default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from gpuwiz.backends.machine.host import Host

CONTAINERD_DEFAULT = "/etc/containerd/config.toml"
DOCKERD_DEFAULT = "/etc/docker/daemon.json"
EXEC_ARGV = re.compile(r"argv\[\]=(.*?)(?: ;| }|$)", re.M)


@dataclass(frozen=True)
class DaemonConfig:
    path: str
    how: str  # "" for the default; else which command line named it ("containerd (pid 5187) -c")
    pid: int | None = None

    @property
    def is_default(self) -> bool:
        return not self.how


def parse_pgrep(output: str) -> list[tuple[int, tuple[str, ...]]]:
    """`pgrep -a -x NAME` lines: "PID ARGV…" (argv joined with spaces)."""
    found = []
    for line in output.splitlines():
        pid, _, args = line.strip().partition(" ")
        if pid.isdigit() and args:
            found.append((int(pid), tuple(args.split())))
    return found


def parse_exec_start(output: str) -> tuple[str, ...] | None:
    """`systemctl show -p ExecStart --value UNIT`: `{ path=… ; argv[]=/usr/bin/containerd -c F ; … }`."""
    m = EXEC_ARGV.search(output)
    return tuple(m.group(1).split()) if m else None


def flag_value(argv: Sequence[str], names: Sequence[str]) -> str | None:
    """The value of `-c F`, `--config F`, `--config=F` (the last one given wins, as for the daemons' CLIs)."""
    value = None
    for n, arg in enumerate(argv):
        for name in names:
            if arg == name and n + 1 < len(argv):
                value = argv[n + 1]
            elif arg.startswith(name + "="):
                value = arg[len(name) + 1 :]
    return value


def running(host: Host, name: str) -> list[tuple[int, tuple[str, ...]]]:
    if not host.which("pgrep"):
        return []
    result = host.run(["pgrep", "-a", "-x", name], timeout=10)
    return parse_pgrep(result.stdout) if result.ok else []


def unit_argv(host: Host, unit: str) -> tuple[str, ...] | None:
    if not host.which("systemctl"):
        return None
    result = host.run(["systemctl", "show", "-p", "ExecStart", "--value", unit], timeout=10)
    return parse_exec_start(result.stdout) if result.ok else None


def daemon_configs(host: Host, name: str, unit: str, flags: Sequence[str], default: str) -> list[DaemonConfig]:
    """One entry per distinct file the running daemons of this name read (else what the unit or
    the default says). Several entries: more than one daemon runs, each with its own config."""
    found: list[DaemonConfig] = []
    for pid, argv in running(host, name):
        flag = flag_value(argv, flags)
        config = DaemonConfig(flag, f"{name} (pid {pid}) {_flag_used(argv, flags)}", pid) if flag else None
        config = config or DaemonConfig(default, "", pid)
        if config.path not in [c.path for c in found]:
            found.append(config)
    if found:
        return found
    argv = unit_argv(host, unit)
    flag = flag_value(argv, flags) if argv else None
    if flag:
        return [DaemonConfig(flag, f"the {unit} unit's ExecStart {_flag_used(argv or (), flags)}")]
    return [DaemonConfig(default, "")]


def _flag_used(argv: Sequence[str], flags: Sequence[str]) -> str:
    for arg in argv:
        for name in flags:
            if arg == name or arg.startswith(name + "="):
                return name
    return flags[0]


DOCKER_PRIVATE = ("/var/run/docker/", "/run/docker/")  # dockerd's own containerd (docker before 23)


def containerd_configs(host: Host) -> list[DaemonConfig]:
    """The system containerd's files first; dockerd's private containerd (its own socket) is left out."""
    found = daemon_configs(host, "containerd", "containerd", ("-c", "--config"), CONTAINERD_DEFAULT)
    return [c for c in found if not c.path.startswith(DOCKER_PRIVATE)] or [DaemonConfig(CONTAINERD_DEFAULT, "")]


def dockerd_configs(host: Host, default: str = DOCKERD_DEFAULT) -> list[DaemonConfig]:
    return daemon_configs(host, "dockerd", "docker", ("--config-file",), default)
