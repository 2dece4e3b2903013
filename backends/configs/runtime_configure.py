"""`gpuwiz runtime configure`: which files to edit for docker, containerd (plain, k3s, RKE2) or CRI-O, and how.

Reads through the Host, edits with the pure editors (docker_edit, containerd_edit, crio_edit),
and returns the FileEdits; the command writes them (atomic, mode kept, backup) or, with
`--dry-run`, prints them. Same meanings as `nvidia-ctk runtime configure`.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field

from gpuwiz.backends.configs import containerd_edit, crio_edit, docker_edit
from gpuwiz.backends.configs.containerd_edit import ContainerdFiles, RuntimeSettings
from gpuwiz.backends.errors import UsageError
from gpuwiz.backends.machine.host import Host
from gpuwiz.backends.parsers import parse_first_version
from gpuwiz.backends.runs.plan import FileEdit
from gpuwiz.backends.toml_compat import tomllib

RUNTIMES = ("docker", "containerd", "crio")
CONTAINERD_CONFIG = "/etc/containerd/config.toml"
RANCHER = {
    "k3s": "/var/lib/rancher/k3s/agent/etc/containerd/config.toml",
    "rke2": "/var/lib/rancher/rke2/agent/etc/containerd/config.toml",
}
MICROK8S_TEMPLATE = "/var/snap/microk8s/current/args/containerd-template.toml"
MICROK8S_UNIT = "snap.microk8s.daemon-containerd"
RANCHER_CONFIG_DROP_IN = {
    "k3s": "/etc/rancher/k3s/config.yaml.d/99-nvidia.yaml",
    "rke2": "/etc/rancher/rke2/config.yaml.d/99-nvidia.yaml",
}
RESTART_UNIT = {"docker": "docker", "containerd": "containerd", "crio": "crio", "k3s": "k3s", "rke2": "rke2-server"}
RUNTIME_BINARY = "nvidia-container-runtime"
DEFAULT_BINARY_PATH = "/usr/bin/nvidia-container-runtime"


@dataclass(frozen=True)
class ConfigureRequest:
    runtime: str = "docker"
    config: str | None = None  # None: where this runtime reads its config here
    drop_in: str | None = None  # None: the runtime's default drop-in; "": edit the config in place
    settings: RuntimeSettings = field(default_factory=RuntimeSettings)
    runtime_path_given: bool = False


@dataclass(frozen=True)
class ConfigureResult:
    edits: tuple[FileEdit, ...]
    notes: tuple[str, ...] = ()
    restart: str | None = None  # the systemd unit to restart for the change to load


def _runtime_path(host: Host, request: ConfigureRequest, absolute: bool) -> str:
    """docker finds `nvidia-container-runtime` on its PATH; containerd and CRI-O want a path."""
    if request.runtime_path_given or not absolute:
        return request.settings.path if request.runtime_path_given else RUNTIME_BINARY
    return host.which(RUNTIME_BINARY) or DEFAULT_BINARY_PATH


def docker_config_path(host: Host) -> str:
    """Snap docker reads its own copy; rootless docker (a user's dockerd) the user's config."""
    docker = host.which("docker") or host.which("dockerd") or ""
    if docker.startswith("/snap/"):
        return docker_edit.SNAP_DOCKER_CONFIG
    env = host.env
    runtime_dir = env.get("XDG_RUNTIME_DIR")
    if host.user != "root" and runtime_dir and host.exists(f"{runtime_dir}/docker.sock"):
        config_home = env.get("XDG_CONFIG_HOME") or f"{env.get('HOME', '~')}/.config"
        return f"{config_home}/docker/daemon.json"
    return docker_edit.DOCKER_CONFIG


def configure(host: Host, request: ConfigureRequest) -> ConfigureResult:
    if request.runtime not in RUNTIMES:
        raise UsageError(f"--runtime {request.runtime}: one of {', '.join(RUNTIMES)}")
    if request.runtime == "docker":
        if request.drop_in:
            raise UsageError("docker has no drop-in config: leave out --drop-in (daemon.json is edited in place)")
        settings = _with_path(request, _runtime_path(host, request, absolute=False))
        path = request.config or docker_config_path(host)
        edits = docker_edit.configure_docker(path, host.read_text(path), settings)
        return ConfigureResult(tuple(edits), _docker_notes(host, path), "docker")
    if request.runtime == "crio":
        return _crio(host, request)
    return _containerd(host, request)


def _with_path(request: ConfigureRequest, path: str) -> RuntimeSettings:
    s = request.settings
    return RuntimeSettings(s.name, path, s.set_as_default, s.cdi)


def _docker_notes(host: Host, path: str) -> tuple[str, ...]:
    if path == docker_edit.SNAP_DOCKER_CONFIG:
        return ("Snap docker reads this copy; restart it with: snap restart docker",)
    return ()


# --- containerd ---------------------------------------------------------------------------------


def imported_files(host: Host, main_path: str, main_text: str | None) -> list[tuple[str, str]]:
    """(path, text) of the files the config's `imports` name, in containerd's order."""
    if not main_text:
        return []
    try:
        imports = tomllib.loads(main_text).get("imports", [])
    except tomllib.TOMLDecodeError:
        return []
    found: list[tuple[str, str]] = []
    for pattern in imports if isinstance(imports, list) else []:
        if not isinstance(pattern, str):
            continue
        pattern = pattern if pattern.startswith("/") else posixpath.join(posixpath.dirname(main_path), pattern)
        folder, name = posixpath.split(pattern)
        for entry in sorted(host.list_dir(folder)):
            path = f"{folder}/{entry}"
            text = host.read_text(path) if fnmatch.fnmatch(entry, name) else None
            if text is not None and path not in dict(found):
                found.append((path, text))
    return found


def rancher_flavour(host: Host, config: str | None) -> str | None:
    for flavour, generated in RANCHER.items():
        if config == generated or (config is None and (host.which(flavour) or host.exists(generated))):
            return flavour
    return None


def _containerd(host: Host, request: ConfigureRequest) -> ConfigureResult:
    settings = _with_path(request, _runtime_path(host, request, absolute=True))
    flavour = rancher_flavour(host, request.config)
    if flavour:
        return _rancher(host, flavour, settings)
    microk8s = request.config == MICROK8S_TEMPLATE or (
        request.config is None and (host.which("microk8s") is not None or host.exists(MICROK8S_TEMPLATE))
    )
    path = MICROK8S_TEMPLATE if microk8s else request.config or CONTAINERD_CONFIG
    text = host.read_text(path)
    # only a config without any key needs the installed containerd's own version
    needs_default = not (text or "").strip() or not tomllib_keys(text)
    default_output = (
        host.run(["containerd", "config", "default"]).stdout if needs_default and host.which("containerd") else None
    )
    files = ContainerdFiles(
        path,
        text,
        tuple(imported_files(host, path, text)),
        containerd_edit.default_config_version(default_output),
    )
    notes = []
    if settings.cdi and _containerd_before_1_7(host):
        notes.append("containerd before 1.7 ignores enable_cdi: CDI needs containerd 1.7 or newer.")
    if _cri_disabled(text):
        notes.append(
            'This config disables the CRI plugin (disabled_plugins = ["cri"], as Docker\'s containerd.io ships '
            "it): Docker does not need it, but Kubernetes does, and the runtime entry only takes effect through it."
        )
    if microk8s:
        # MicroK8s renders containerd.toml from this template at every start: the template is the config
        edits = containerd_edit.configure_in_place(files, settings)
        notes.append("MicroK8s: edited its containerd template; its ${...} placeholders are left for it to fill in.")
        return ConfigureResult(tuple(edits), tuple(notes), MICROK8S_UNIT)
    if request.drop_in == "":
        edits = containerd_edit.configure_in_place(files, settings)
    else:
        drop_in = request.drop_in or containerd_edit.DEFAULT_DROP_IN
        edits = containerd_edit.configure_drop_in(files, drop_in, host.read_text(drop_in), settings)
    return ConfigureResult(tuple(edits), tuple(notes), "containerd")


def tomllib_keys(text: str | None) -> bool:
    try:
        return bool(tomllib.loads(text or ""))
    except tomllib.TOMLDecodeError:
        return True  # malformed: the editor reports it


def _cri_disabled(text: str | None) -> bool:
    try:
        disabled = tomllib.loads(text or "").get("disabled_plugins", [])
    except tomllib.TOMLDecodeError:
        return False
    return isinstance(disabled, list) and any(p in ("cri", "io.containerd.grpc.v1.cri") for p in disabled)


def _containerd_before_1_7(host: Host) -> bool:
    if not host.which("containerd"):
        return False
    version = parse_first_version(host.run(["containerd", "--version"]).stdout) or ""
    match = re.match(r"(\d+)\.(\d+)", version)
    return bool(match) and (int(match.group(1)), int(match.group(2))) < (1, 7)


def _rancher(host: Host, flavour: str, settings: RuntimeSettings) -> ConfigureResult:
    """k3s and RKE2 regenerate config.toml at every start: never edit it.

    They add the nvidia runtime themselves when nvidia-container-runtime is on PATH at start; a
    custom template (config.toml.tmpl / config-v3.toml.tmpl) without their base template gets the
    runtime appended (its Go-template lines stay as they are); the default runtime is their
    `default-runtime` option, set in a config.yaml.d drop-in.
    """
    generated_path = RANCHER[flavour]
    generated = host.read_text(generated_path) or ""
    folder = posixpath.dirname(generated_path)
    v3 = "version = 3" in generated
    template_path = f"{folder}/{'config-v3.toml.tmpl' if v3 else 'config.toml.tmpl'}"
    template = host.read_text(template_path)
    edits: list[FileEdit] = []
    notes: list[str] = []
    runtime_key = f"runtimes.{settings.name}]"
    runtime_quoted = f'runtimes."{settings.name}"]'
    # k3s fills the runtimes it found on PATH in through `.ExtraRuntimes`: a template with that block (or
    # its base template) gets nvidia from k3s; a second table for it would make the config invalid TOML
    k3s_adds = template is not None and ('template "base"' in template or ".ExtraRuntimes" in template)
    if template is not None and not k3s_adds:
        if runtime_key not in template and runtime_quoted not in template:
            edits.append(
                FileEdit(template_path, template.rstrip("\n") + "\n\n" + _rancher_block(v3, settings), template)
            )
    elif runtime_key in generated or runtime_quoted in generated:
        notes.append(f"{flavour} already added the {settings.name} runtime to its containerd config.")
    else:
        notes.append(
            f"{flavour} adds the {settings.name} runtime to its containerd config itself when "
            f"{RUNTIME_BINARY} is on PATH at start: install the toolkit, then restart {flavour}."
        )
    if settings.set_as_default:
        path = RANCHER_CONFIG_DROP_IN[flavour]
        text = f"# Written by gpuwiz: containers run with the NVIDIA runtime by default.\ndefault-runtime: {settings.name}\n"
        old = host.read_text(path)
        if old != text:
            edits.append(FileEdit(path, text, old))
    if settings.cdi:
        notes.append(f"{flavour} with containerd 2.x has CDI on; older ones need it in a config template.")
    return ConfigureResult(tuple(edits), tuple(notes), RESTART_UNIT[flavour])


def _rancher_block(v3: bool, settings: RuntimeSettings) -> str:
    plugin = '"io.containerd.cri.v1.runtime"' if v3 else '"io.containerd.grpc.v1.cri"'
    prefix = f"[plugins.{plugin}.containerd.runtimes.{settings.name}"
    return (
        f"# Added by gpuwiz: the NVIDIA container runtime.\n"
        f"{prefix}]\n"
        f'  runtime_type = "io.containerd.runc.v2"\n'
        f"{prefix}.options]\n"
        f'  BinaryName = "{settings.path}"\n'
        f"  SystemdCgroup = true\n"
    )


# --- CRI-O ------------------------------------------------------------------------------------


def _crio(host: Host, request: ConfigureRequest) -> ConfigureResult:
    settings = _with_path(request, _runtime_path(host, request, absolute=True))
    main = request.config or crio_edit.CRIO_CONFIG
    folder = f"{posixpath.dirname(main)}/crio.conf.d"
    dropins = [(f"{folder}/{n}", host.read_text(f"{folder}/{n}") or "") for n in sorted(host.list_dir(folder))]
    main_text = host.read_text(main)
    if request.drop_in == "":
        target, target_text = main, main_text
        others = dropins
    else:
        target = request.drop_in or crio_edit.DEFAULT_DROP_IN
        target_text = host.read_text(target)
        others = [(main, main_text or ""), *[(p, t) for p, t in dropins if p != target]]
    notes = ("CRI-O has CDI on by default (since 1.23): nothing to switch on.",) if settings.cdi else ()
    if target_text is None and main_text is None and not host.which("crio"):
        notes += ("CRI-O is not installed here; the file is written for when it is.",)
    edits = crio_edit.configure_crio(target, target_text, others, settings)
    return ConfigureResult(tuple(edits), notes, "crio")
