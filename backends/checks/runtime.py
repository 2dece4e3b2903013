"""Container runtime checks: does each installed runtime know the nvidia runtime (or CDI).

DIAGNOSTICS.md rows 24 and 25: the file is the one the running daemon reads (its -c/--config or
--config-file, probes/runtime.py with configs/daemon_configs.py), named in runtime.containerd.nvidia
and runtime.docker.nvidia; daemon.json names nvidia, docker info does not and docker restarted after
the edit: runtime.docker.other-config. Row 33 (two containerds on k3s/RKE2): the k3s/RKE2 flavour's
own config is the one read, and a plain containerd's file that names nvidia is said to reach no pod
(runtime.containerd.nvidia, probes/runtime.py _plain_containerd_nvidia_configs).
"""

from __future__ import annotations

from gpuwiz.backends.facts import ContainerdFacts, CrioFacts, DockerFacts, K8sFacts, RuntimeFacts
from gpuwiz.backends.findings import Finding, Layer, Status

L = Layer.RUNTIME


def check_runtime(f: RuntimeFacts, k8s: K8sFacts | None) -> list[Finding]:
    out: list[Finding] = []
    if not (f.docker or f.containerd or f.crio or f.podman):
        return [
            Finding(
                "runtime.none",
                L,
                Status.FAIL,
                "No container runtime is installed (docker, containerd, CRI-O or podman).",
                "Install one (docker for a workstation, containerd for Kubernetes): see `gpuwiz plan`.",
            )
        ]
    if f.docker:
        out += _docker(f.docker)
    if f.containerd:
        out += _containerd(f.containerd, k8s, docker=f.docker is not None)
    if f.crio:
        out += _crio(f.crio)
    out += _legacy_hook_reload(f)
    if f.selinux == "Enforcing" and (f.docker or f.podman):
        out.append(
            Finding(
                "runtime.selinux",
                L,
                Status.WARN,
                "SELinux is enforcing: containers may fail with 'Failed to initialize NVML: Insufficient Permissions'.",
                "Run GPU containers with --security-opt=label=disable, or install a policy that labels the "
                "NVIDIA devices (container_use_devices).",
                ("getenforce: Enforcing",),
            )
        )
    if f.podman and not (f.docker or f.containerd or f.crio):
        out.append(
            Finding(
                "runtime.podman",
                L,
                Status.OK,
                "podman is installed; it reaches GPUs through CDI (nvidia-ctk cdi generate).",
            )
        )
    return out


def _legacy_hook_reload(f: RuntimeFacts) -> list[Finding]:
    """Row 18: on cgroup v2 with systemd managing the container cgroups, `systemctl daemon-reload` drops the
    device access the legacy hook granted; CDI (or /dev/char links) keeps it."""
    if not f.cgroup_v2:
        return []
    exposed = []
    c = f.containerd
    if c and "nvidia" in c.runtimes and dict(c.systemd_cgroup).get("nvidia") and not c.cdi:
        exposed.append(f"{c.config_path}: nvidia runtime with SystemdCgroup = true, enable_cdi off")
    d = f.docker
    if d and "nvidia" in d.runtimes and not d.cdi:
        exposed.append(
            f"{d.config_path}: nvidia runtime, features.cdi off (docker uses the systemd cgroup driver on cgroup v2)"
        )
    if not exposed:
        return []
    return [
        Finding(
            "runtime.daemon-reload",
            L,
            Status.WARN,
            "GPU containers lose the GPU after `systemctl daemon-reload` ('Failed to initialize NVML: Unknown Error'): "
            "systemd resets the device access the legacy hook granted.",
            "Use CDI (gpuwiz plan with cdi = yes: nvidia-ctk cdi generate, enable_cdi / features.cdi), or create "
            "the /dev/char links: nvidia-ctk system create-dev-char-symlinks --create-all.",
            tuple(exposed),
        )
    ]


def _docker(d: DockerFacts) -> list[Finding]:
    out = _docker_config(d)
    if d.started_before_hook:
        out.append(
            Finding(
                "runtime.docker.gpus-flag",
                L,
                Status.FAIL,
                "dockerd started before the toolkit was installed: `docker run --gpus` fails with "
                "'could not select device driver \"\" with capabilities: [[gpu]]'.",
                "Restart docker (sudo systemctl restart docker): it looks for nvidia-container-runtime-hook at start.",
                ("docker's start time is older than nvidia-container-runtime-hook",),
            )
        )
    return out


def _docker_config(d: DockerFacts) -> list[Finding]:
    if d.config_error:
        return [
            Finding(
                "runtime.docker.config",
                L,
                Status.FAIL,
                f"docker's config is malformed: {d.config_error}",
                f"Fix {d.config_path} by hand; gpuwiz will not edit it while it is invalid.",
            )
        ]
    configured = "nvidia" in d.runtimes or d.cdi
    if not configured:
        return [
            Finding(
                "runtime.docker.nvidia",
                L,
                Status.FAIL,
                f"docker {d.version or ''} does not know the nvidia runtime ({_docker_where(d)}).".replace("  ", " "),
                "gpuwiz runtime configure --runtime docker"
                + (f" (it edits {d.config_path}, the file this dockerd reads)" if d.unread_nvidia_configs else "")
                + f", then {_restart_docker(d)}"
                + ("; editing the other file again changes nothing." if d.unread_nvidia_configs else "."),
                tuple(f"{p}: names the nvidia runtime, not read by this dockerd" for p in d.unread_nvidia_configs),
            )
        ]
    if d.daemon_runtimes is not None and "nvidia" in d.runtimes and "nvidia" not in d.daemon_runtimes:
        if d.restarted_after_edit:
            return [_docker_reads_another_file(d)]
        return [
            Finding(
                "runtime.docker.not-applied",
                L,
                Status.FAIL,
                f"{d.config_path} names the nvidia runtime but the running dockerd does not: it was not restarted or reads another file.",
                _restart_docker(d),
                ("docker info: runtimes " + ", ".join(d.daemon_runtimes),),
            )
        ]
    default = f", default runtime {d.default_runtime}" if d.default_runtime else ""
    return [
        Finding(
            "runtime.docker.nvidia",
            L,
            Status.OK,
            f"docker {d.version or ''} knows the nvidia runtime{default}.".replace("  ", " "),
        )
    ]


def _docker_where(d: DockerFacts) -> str:
    """Row 25: the file this dockerd reads, why, and the daemon.json that names nvidia but is not read."""
    how = f", the file {d.config_how} names" if d.config_how else ""
    unread = "".join(f"; {p} names nvidia, but this dockerd does not read it" for p in d.unread_nvidia_configs)
    return f"{d.config_path}{how}{unread}"


def _where(c: ContainerdFacts) -> str:
    """The file, and why it is that one when it is not containerd's default."""
    how = f", the file {c.config_how} names" if c.config_how else ""
    seen = "; runtimes as containerd config dump shows them" if c.effective_from else ""
    return f"{c.config_path}{how}{seen}"


def _other_configs(daemon: str, others: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"another {daemon} runs with {path}" for path in others)


def _restart_docker(d: DockerFacts) -> str:
    """Snap's docker is a snap service: systemctl knows it as snap.docker.dockerd, snap restart is its way."""
    return "snap restart docker" if d.config_path.startswith("/var/snap/docker/") else "sudo systemctl restart docker"


def _docker_reads_another_file(d: DockerFacts) -> Finding:
    """Row 25: daemon.json names nvidia, docker info does not, and docker restarted after the edit."""
    reasons = [f"a dockerd runs with {path}" for path in d.other_configs]
    if d.config_how:
        reasons.append(f"{d.config_how} {d.config_path}")
    reasons += [f"systemd drop-in {path} (it may set another --config-file)" for path in d.unit_drop_ins]
    if not reasons:
        reasons.append("snap's or rootless docker's own daemon.json, or a unit override: see `systemctl cat docker`")
    return Finding(
        "runtime.docker.other-config",
        L,
        Status.FAIL,
        f"dockerd was restarted after {d.config_path} last changed and still lacks the nvidia runtime: "
        f"it reads another file ({'; '.join(reasons)}).",
        "Configure the file that dockerd reads: gpuwiz runtime configure --runtime docker --config "
        + (d.other_configs[0] if d.other_configs else "FILE (its --config-file)")
        + ", then restart that docker; another restart alone changes nothing.",
        ("docker info: runtimes " + ", ".join(d.daemon_runtimes or ()),),
    )


def _containerd(c: ContainerdFacts, k8s: K8sFacts | None, *, docker: bool) -> list[Finding]:
    out = []
    name = c.flavour if c.flavour != "containerd" else f"containerd {c.version or ''}".strip()
    if c.config_error:
        return [
            Finding(
                "runtime.containerd.config",
                L,
                Status.FAIL,
                f"containerd's config is malformed: {c.config_error}",
                f"Fix {c.config_path} by hand; gpuwiz will not edit it while it is invalid.",
            )
        ]
    in_cluster = k8s is not None and k8s.flavour is not None
    if docker and not in_cluster and c.flavour == "containerd" and "nvidia" not in c.runtimes:
        # dockerd tells containerd which runtime each container uses: docker's settings apply.
        return [
            Finding(
                "runtime.containerd.docker-backend",
                L,
                Status.OK,
                f"{name} runs docker's containers; docker's runtime settings apply to them.",
            )
        ]
    if c.cri_disabled:
        out.append(
            Finding(
                "runtime.containerd.cri-disabled",
                L,
                Status.FAIL if in_cluster else Status.WARN,
                f'{c.config_path} has disabled_plugins = ["cri"] (Docker\'s containerd.io default): kubelet cannot use this containerd.',
                'Remove "cri" from disabled_plugins (or regenerate with containerd config default), set SystemdCgroup = true, restart containerd.',
            )
        )
    if "nvidia" in c.runtimes:
        default = f", default runtime {c.default_runtime}" if c.default_runtime else ""
        out.append(
            Finding(
                "runtime.containerd.nvidia",
                L,
                Status.OK,
                f"{name} has the nvidia runtime{default} ({_where(c)}).",
                evidence=_second_containerd(c),
            )
        )
        out += _systemd_cgroup(c)
    elif c.flavour in ("k3s", "rke2"):
        unread = f" {_and(c.unread_nvidia_configs)} names nvidia" if c.unread_nvidia_configs else ""
        out.append(
            Finding(
                "runtime.containerd.nvidia",
                L,
                Status.FAIL,
                f"{c.flavour}'s containerd has no nvidia runtime ({c.config_path})"
                + (
                    f";{unread}, but that file belongs to a second containerd (Docker's containerd.io), not the one kubelet uses"
                    if unread
                    else ""
                )
                + ".",
                f"Restart {c.flavour} once the toolkit is installed: it adds the nvidia runtime itself when nvidia-container-runtime is on PATH"
                + (
                    f" (to change its containerd, edit {c.config_path}.tmpl, never {c.config_path}); "
                    f"the edit in {_and(c.unread_nvidia_configs)} reaches no pod."
                    if unread
                    else "."
                ),
                _second_containerd(c),
            )
        )
    else:
        out.append(
            Finding(
                "runtime.containerd.nvidia",
                L,
                Status.FAIL,
                f"{name} has no nvidia runtime in {_where(c)}"
                + ("" if c.config_exists else " (the file does not exist)")
                + ".",
                "gpuwiz runtime configure --runtime containerd"
                + ("" if not c.config_how else f" --config {c.config_path}")
                + ", then restart containerd.",
                _other_configs("containerd", c.other_configs),
            )
        )
    return out


def _and(paths: tuple[str, ...]) -> str:
    return " and ".join(paths)


def _second_containerd(c: ContainerdFacts) -> tuple[str, ...]:
    """Row 33: a plain containerd's file names nvidia on a k3s/RKE2 node; kubelet does not use that containerd."""
    return tuple(
        f"{path} names nvidia too: Docker's containerd.io reads it, kubelet uses {c.flavour}'s containerd"
        for path in c.unread_nvidia_configs
    )


def _systemd_cgroup(c: ContainerdFacts) -> list[Finding]:
    """Row 15: the nvidia entry's SystemdCgroup differs from the default runtime's (kubelet's cgroup driver)."""
    systemd = dict(c.systemd_cgroup)
    base = c.default_runtime if c.default_runtime and c.default_runtime != "nvidia" else "runc"
    want, have = systemd.get(base), systemd.get("nvidia", False if "nvidia" in c.runtimes else None)
    if want is None or have is None or want == have:
        return []
    return [
        Finding(
            "runtime.containerd.systemd-cgroup",
            L,
            Status.FAIL if c.default_runtime == "nvidia" else Status.WARN,
            f"The nvidia runtime has SystemdCgroup = {str(have).lower()}, {base} has {str(want).lower()}: "
            "pods on the nvidia runtime get the wrong cgroup driver (CNI pods crash-loop, GPU pods are killed).",
            f"Copy {base}'s options into the nvidia entry: gpuwiz runtime configure --runtime containerd, restart containerd.",
            (f"{c.config_path}: runtimes.{base}.options.SystemdCgroup = {str(want).lower()}",),
        )
    ]


def _crio(c: CrioFacts) -> list[Finding]:
    if "nvidia" in c.runtimes:
        return [
            Finding(
                "runtime.crio.nvidia",
                L,
                Status.OK,
                f"CRI-O {c.version or ''} has the nvidia runtime.".replace("  ", " "),
            )
        ]
    stray = c.unread_dropins
    return [
        Finding(
            "runtime.crio.nvidia",
            L,
            Status.FAIL,
            "CRI-O has no nvidia runtime"
            + (" (a drop-in sits in /etc/crio/conf.d, which CRI-O does not read)" if stray else "")
            + ".",
            "gpuwiz runtime configure --runtime crio (writes /etc/crio/crio.conf.d/99-nvidia.toml), then restart crio.",
            tuple(stray),
        )
    ]
