"""Container runtime facts: docker, containerd (plain, k3s, RKE2), CRI-O, podman."""

from __future__ import annotations

import fnmatch
import json
import posixpath

from gpuwiz.backends.configs.containerd_config import ContainerdRuntimes, merge_runtimes, read_runtimes
from gpuwiz.backends.configs.daemon_configs import DOCKERD_DEFAULT, containerd_configs, dockerd_configs
from gpuwiz.backends.configs.runtime_configure import ConfigureRequest, configure, docker_default_path
from gpuwiz.backends.errors import GpuwizError
from gpuwiz.backends.facts import ContainerdFacts, CrioFacts, DockerFacts, RuntimeFacts
from gpuwiz.backends.machine.file_view import FileView
from gpuwiz.backends.machine.host import Host
from gpuwiz.backends.machine.recording import RecordingHost
from gpuwiz.backends.parsers import parse_first_version
from gpuwiz.backends.toml_compat import toml_error_line, tomllib

CONTAINERD_CONFIG = "/etc/containerd/config.toml"
RANCHER_CONTAINERD = {
    "k3s": "/var/lib/rancher/k3s/agent/etc/containerd/config.toml",
    "rke2": "/var/lib/rancher/rke2/agent/etc/containerd/config.toml",
    "microk8s": "/var/snap/microk8s/current/args/containerd-template.toml",  # rendered to containerd.toml at start
}
CRIO_CONFIG = "/etc/crio/crio.conf"
CRIO_DROPIN_DIR = "/etc/crio/crio.conf.d"
CRIO_UNREAD_DIR = "/etc/crio/conf.d"  # toolkit 1.18-1.19 wrote here; CRI-O never reads it


def service_state(host: Host, unit: str) -> str | None:
    if not host.which("systemctl"):
        return None
    state = host.run(["systemctl", "is-active", unit]).stdout.strip()
    return state or None


def probe_docker(host: Host) -> DockerFacts | None:
    docker = host.which("docker") or host.which("dockerd")
    if docker is None:
        return None
    configs = dockerd_configs(host, docker_default_path(host))  # snap and rootless docker: their own copies
    path, how = configs[0].path, configs[0].how
    text = host.read_text(path)
    error = None
    config: dict = {}
    if text and text.strip():
        try:
            loaded = json.loads(text)
            if isinstance(loaded, dict):
                config = loaded
            else:
                error = f"{path}: the top level must be a JSON object"
        except json.JSONDecodeError as exc:
            error = f"{path}:{exc.lineno}: not valid JSON: {exc.msg}"
    runtimes = config.get("runtimes", {})
    features = config.get("features", {})
    version = None
    daemon_runtimes = None
    state = service_state(host, "docker")
    if host.which("docker"):
        version = parse_first_version(host.run(["docker", "--version"]).stdout)
        if state in (None, "active"):
            info = host.run(["docker", "info", "--format", "{{json .Runtimes}}"], timeout=10)
            if info.ok:
                try:
                    daemon_runtimes = tuple(json.loads(info.stdout))
                except (json.JSONDecodeError, TypeError):
                    daemon_runtimes = None
    restarted_after = None
    if daemon_runtimes is not None and "nvidia" in (runtimes if isinstance(runtimes, dict) else {}):
        if "nvidia" not in daemon_runtimes:
            restarted_after = _started_after(host, path)
    return DockerFacts(
        config_how=how,
        other_configs=tuple(c.path for c in configs[1:]),
        restarted_after_edit=restarted_after,
        unit_drop_ins=_drop_ins(host, "docker") if restarted_after else (),
        unread_nvidia_configs=_unread_nvidia_configs(host, path),
        started_before_hook=_started_before_hook(host) if state == "active" else None,
        version=version,
        config_path=path,
        config_exists=text is not None,
        config_error=error,
        runtimes=tuple(runtimes) if isinstance(runtimes, dict) else (),
        default_runtime=config.get("default-runtime") if isinstance(config.get("default-runtime"), str) else None,
        cdi=isinstance(features, dict) and features.get("cdi") is True,
        service=state,
        daemon_runtimes=daemon_runtimes,
    )


def _unread_nvidia_configs(host: Host, path: str) -> tuple[str, ...]:
    """Row 25: /etc/docker/daemon.json names nvidia (nvidia-ctk wrote it) while this dockerd reads another file
    (snap docker, rootless docker, --config-file from a unit drop-in)."""
    if path == DOCKERD_DEFAULT:
        return ()
    text = host.read_text(DOCKERD_DEFAULT)
    try:
        loaded = json.loads(text) if text else None
    except json.JSONDecodeError:
        return ()
    runtimes = loaded.get("runtimes") if isinstance(loaded, dict) else None
    return (DOCKERD_DEFAULT,) if isinstance(runtimes, dict) and "nvidia" in runtimes else ()


HOOK = "nvidia-container-runtime-hook"


def _started_before_hook(host: Host) -> bool | None:
    """Row 12: dockerd looks for the hook once, at start; a toolkit installed later gives no --gpus."""
    hook = host.which(HOOK)
    if hook is None:
        return None
    times = _docker_start_and_mtime(host, hook)
    return None if times is None else times[0] < times[1]


def _unix_time(text: str) -> int | None:
    try:
        return int(text.strip().lstrip("@"))
    except ValueError:
        return None


def _docker_start_and_mtime(host: Host, path: str) -> tuple[int, int] | None:
    """When docker's unit last started and when `path` last changed (unix seconds); None where unknown
    (systemd before 248 has no --timestamp=unix)."""
    started = host.run(
        ["systemctl", "show", "docker", "--property=ActiveEnterTimestamp", "--value", "--timestamp=unix"]
    )
    changed = host.run(["stat", "-c", "%Y", path])
    start, edit = _unix_time(started.stdout), _unix_time(changed.stdout)
    return None if start is None or edit is None else (start, edit)


def _started_after(host: Host, path: str) -> bool | None:
    """Did dockerd (re)start after daemon.json last changed? Then a restart is not what is missing."""
    times = _docker_start_and_mtime(host, path)
    return None if times is None else times[0] > times[1]


def _drop_ins(host: Host, unit: str) -> tuple[str, ...]:
    result = host.run(["systemctl", "show", "-p", "DropInPaths", "--value", unit])
    return tuple(result.stdout.split()) if result.ok else ()


def _config_dump(host: Host, path: str) -> dict | None:
    """containerd's own view of the config (imports merged its way); None where it cannot say."""
    if not host.which("containerd"):
        return None
    result = host.run(["containerd", "--config", path, "config", "dump"], timeout=20)
    if not result.ok:
        return None
    try:
        return tomllib.loads(result.stdout)
    except tomllib.TOMLDecodeError:
        return None


def _read_toml(host: Host, path: str) -> tuple[dict | None, str | None]:
    text = host.read_text(path)
    if text is None:
        return None, None
    try:
        return tomllib.loads(text), None
    except tomllib.TOMLDecodeError as exc:
        line = toml_error_line(exc)
        return None, f"{path}{':' + str(line) if line else ''}: not valid TOML: {exc}"


def _imported_files(host: Host, patterns: tuple[str, ...], base: str) -> list[str]:
    files = []
    for pattern in patterns:
        pattern = pattern if pattern.startswith("/") else posixpath.join(posixpath.dirname(base), pattern)
        folder, name = posixpath.split(pattern)
        files += [f"{folder}/{n}" for n in host.list_dir(folder) if fnmatch.fnmatch(n, name)]
    return files


def probe_containerd(host: Host) -> ContainerdFacts | None:
    flavour, path = "containerd", CONTAINERD_CONFIG
    for name, rancher_path in RANCHER_CONTAINERD.items():
        if host.which(name) or host.exists(rancher_path):
            flavour, path = name, rancher_path
    if flavour == "containerd" and not host.which("containerd"):
        return None
    how, others, unread = "", (), ()
    if flavour == "containerd":  # the file the running daemon was started with (kops: -c config-kops.toml)
        configs = containerd_configs(host)
        path, how, others = configs[0].path, configs[0].how, tuple(c.path for c in configs[1:])
    else:
        unread = _plain_containerd_nvidia_configs(host)
    version = None
    if host.which("containerd"):
        version = parse_first_version(host.run(["containerd", "--version"]).stdout)
    data, error = _read_toml(host, path)
    runtimes = read_runtimes(data or {})
    dropins = []
    for dropin in _imported_files(host, runtimes.imports, path):
        dropin_data, dropin_error = _read_toml(host, dropin)
        error = error or dropin_error
        if dropin_data:
            dropins.append(read_runtimes(dropin_data))
    merged = merge_runtimes(runtimes, dropins)
    dumped = _config_dump(host, path) if flavour == "containerd" and data is not None and not error else None
    effective = ""
    if dumped is not None:
        seen = read_runtimes(dumped)
        merged = ContainerdRuntimes(
            merged.version,
            seen.runtimes,
            seen.default_runtime,
            merged.cri_disabled,
            merged.imports,
            seen.systemd_cgroup,
            seen.cdi if seen.cdi is not None else merged.cdi,
        )
        effective = "containerd config dump"
    return ContainerdFacts(
        config_how=how,
        other_configs=others,
        effective_from=effective,
        unread_nvidia_configs=unread,
        flavour=flavour,
        version=version,
        config_path=path,
        config_exists=data is not None or error is not None,
        config_error=error,
        config_version=merged.version if data is not None else None,
        runtimes=merged.runtimes,
        default_runtime=merged.default_runtime,
        cri_disabled=merged.cri_disabled,
        systemd_cgroup=merged.systemd_cgroup,
        cdi=merged.cdi,
        service=service_state(
            host,
            {
                "containerd": "containerd",
                "k3s": "k3s",
                "rke2": "rke2-server",
                "microk8s": "snap.microk8s.daemon-containerd",
            }[flavour],
        ),
    )


def _plain_containerd_nvidia_configs(host: Host) -> tuple[str, ...]:
    """Row 33: on a k3s/RKE2 node, the files a second, plain containerd (Docker's containerd.io) reads that
    name the nvidia runtime: kubelet talks to the flavour's own containerd, so an edit there reaches no pod."""
    if not host.which("containerd") and not host.exists(CONTAINERD_CONFIG):
        return ()
    paths = [c.path for c in containerd_configs(host)] if host.which("containerd") else [CONTAINERD_CONFIG]
    named = []
    for path in dict.fromkeys(p for p in paths if not p.startswith("/var/lib/rancher/")):
        data, error = _read_toml(host, path)
        if data and not error and _names_nvidia_runtime(data):
            named.append(path)
    return tuple(named)


def _names_nvidia_runtime(table: dict) -> bool:
    """A `runtimes.nvidia` table at any depth: what the owner meant, whichever schema version the file is in
    (containerd.io's file has no version line, and guides append the v2 plugin path to it)."""
    runtimes = table.get("runtimes")
    if isinstance(runtimes, dict) and "nvidia" in runtimes:
        return True
    return any(isinstance(value, dict) and _names_nvidia_runtime(value) for value in table.values())


def probe_crio(host: Host) -> CrioFacts | None:
    if not host.which("crio"):
        return None
    files = [CRIO_CONFIG] if host.exists(CRIO_CONFIG) else []
    files += [f"{CRIO_DROPIN_DIR}/{n}" for n in host.list_dir(CRIO_DROPIN_DIR)]
    runtimes: list[str] = []
    for path in files:
        data, _ = _read_toml(host, path)
        found = (data or {}).get("crio", {}).get("runtime", {}).get("runtimes", {})
        runtimes += [r for r in found if r not in runtimes]
    return CrioFacts(
        version=parse_first_version(host.run(["crio", "--version"]).stdout),
        config_files=tuple(files),
        runtimes=tuple(runtimes),
        service=service_state(host, "crio"),
        unread_dropins=tuple(f"{CRIO_UNREAD_DIR}/{n}" for n in host.list_dir(CRIO_UNREAD_DIR)),
    )


def record_config_files(host: Host, runtimes: list[str]) -> FileView:
    """What `runtime configure` reads for these runtimes, recorded for the planner (FileView)."""
    recording = RecordingHost(host)
    for runtime in runtimes:
        try:
            configure(recording, ConfigureRequest(runtime))
        except GpuwizError:
            pass  # a malformed config: the checks report it from the facts
    return FileView.from_recording(recording, host.user)


def probe_runtime(host: Host) -> RuntimeFacts:
    docker, containerd, crio = probe_docker(host), probe_containerd(host), probe_crio(host)
    present = [name for name, facts in (("docker", docker), ("containerd", containerd), ("crio", crio)) if facts]
    return RuntimeFacts(
        docker=docker,
        containerd=containerd,
        crio=crio,
        podman=host.which("podman"),
        nerdctl=host.which("nerdctl"),
        cgroup_v2=host.exists("/sys/fs/cgroup/cgroup.controllers"),
        selinux=host.run(["getenforce"]).stdout.strip() or None if host.which("getenforce") else None,
        config_view=record_config_files(host, present),
        cdi_specs=nvidia_cdi_specs(host),
    )


CDI_DIRS = ("/etc/cdi", "/var/run/cdi")  # the CDI spec directories every CDI-aware runtime reads


def nvidia_cdi_specs(host: Host) -> tuple[str, ...]:
    return tuple(
        f"{folder}/{name}"
        for folder in CDI_DIRS
        for name in sorted(host.list_dir(folder))
        if name.startswith("nvidia") and name.endswith((".yaml", ".json"))
    )
