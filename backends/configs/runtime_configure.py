"""`gpuwiz runtime configure`: which files to edit for docker, containerd (plain, k3s, RKE2) or CRI-O, and how.

Reads through the Host, edits with the pure editors (docker_edit, containerd_edit, crio_edit),
and returns the FileEdits; the command writes them (atomic, mode kept, backup) or, with
`--dry-run`, prints them. Same meanings as `nvidia-ctk runtime configure`.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field, replace

from gpuwiz.backends.configs import containerd_edit, crio_edit, docker_edit, oci_hook
from gpuwiz.backends.configs.config_shapes import check_containerd_shapes, check_crio_shapes
from gpuwiz.backends.configs.containerd_edit import ContainerdFiles, RuntimeSettings
from gpuwiz.backends.configs.daemon_configs import containerd_configs, dockerd_configs
from gpuwiz.backends.errors import InputError, UsageError
from gpuwiz.backends.machine.host import Host
from gpuwiz.backends.machine.input_file import read_input
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
    mode: str = "config-file"  # or "oci-hook": write the OCI prestart hook instead of a runtime entry
    hook_file: str = ""  # oci-hook: where to write it; "": print it
    hook_binary: str = oci_hook.DEFAULT_HOOK_BINARY
    # where the current config comes from, the first that answers: "file", "command" (the runtime's own dump)
    config_sources: tuple[str, ...] = ("file",)
    executable: str | None = None  # the runtime's executable for "command" (default: found on PATH)


@dataclass(frozen=True)
class ConfigureResult:
    edits: tuple[FileEdit, ...]
    notes: tuple[str, ...] = ()
    restart: str | None = None  # the systemd unit to restart for the change to load
    output: str = ""  # printed instead of written (an OCI hook without --oci-hook-path)


def _runtime_path(host: Host, request: ConfigureRequest, absolute: bool) -> str:
    """docker finds `nvidia-container-runtime` on its PATH; containerd and CRI-O want a path."""
    if request.runtime_path_given or not absolute:
        return request.settings.path if request.runtime_path_given else RUNTIME_BINARY
    return host.which(RUNTIME_BINARY) or DEFAULT_BINARY_PATH


def docker_config_path(host: Host) -> str:
    """The file the running dockerd reads: its --config-file, else this install's default."""
    return dockerd_configs(host, docker_default_path(host))[0].path


def docker_default_path(host: Host) -> str:
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
    result = _configure(host, request)
    return replace(result, edits=tuple(keep_line_endings(e) for e in result.edits))


def keep_line_endings(edit: FileEdit) -> FileEdit:
    """A file written with CRLF line ends stays so (the editors write "\n")."""
    old = edit.old_text or ""
    if "\r\n" not in old or old.count("\r\n") != old.count("\n"):
        return edit
    return replace(edit, new_text=edit.new_text.replace("\r\n", "\n").replace("\n", "\r\n"))


def _configure(host: Host, request: ConfigureRequest) -> ConfigureResult:
    if request.runtime not in RUNTIMES:
        raise UsageError(f"--runtime {request.runtime}: one of {', '.join(RUNTIMES)}")
    if request.mode == "oci-hook":
        return _oci_hook(host, request)
    if request.runtime == "docker":
        if request.drop_in:
            raise UsageError("docker has no drop-in config: leave out --drop-in (daemon.json is edited in place)")
        settings = _with_path(request, _runtime_path(host, request, absolute=False))
        path = request.config or docker_config_path(host)
        edits = docker_edit.configure_docker(path, read_input(host, path, syntax="json"), settings)
        notes = _docker_notes(host, path)
        if request.config_sources[:1] == ("command",):
            notes += ("docker has no command that prints its config: daemon.json is read.",)
        return ConfigureResult(tuple(edits), notes, "docker")
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


# --- the OCI hook, and the runtime's own view of its config ----------------------------------------


def _oci_hook(host: Host, request: ConfigureRequest) -> ConfigureResult:
    """`--config-mode oci-hook`: the prestart hook file (or the hook on stdout), no runtime config."""
    if not posixpath.isabs(request.hook_binary):
        raise UsageError(f"--nvidia-runtime-hook-path {request.hook_binary}: give the hook's absolute path")
    note = "NVIDIA calls the OCI hook mode deprecated: a runtime entry (the default mode) or CDI is the way now."
    text = oci_hook.hook_text(request.hook_binary)
    if not request.hook_file:
        return ConfigureResult((), (note,), output=text)
    old = read_input(host, request.hook_file, what="OCI hook", syntax="json")
    return ConfigureResult(tuple(oci_hook.hook_edits(request.hook_file, old, request.hook_binary)), (note,))


def runtime_dump(host: Host, request: ConfigureRequest, commands: list[list[str]]) -> tuple[str | None, list[str]]:
    """(the config the runtime prints, notes) for `--config-source`: None when "file" comes first, or when
    every command failed and "file" follows; an error when nothing is left to read."""
    notes: list[str] = []
    for source in request.config_sources:
        if source == "file":
            return None, notes
        for argv in commands:
            if host.which(argv[0]) is None:
                notes.append(f"{argv[0]}: not found")
                continue
            done = host.run(argv)
            if done.returncode == 0 and done.stdout.strip():
                return done.stdout, []
            why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
            notes.append(f"{' '.join(argv)}: {why}")
    raise UsageError(f"--config-source {','.join(request.config_sources)}: cannot read the config ({'; '.join(notes)})")


def parse_dump(what: str, text: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(what, f"not valid TOML: {exc}") from None


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
            text = (
                read_input(host, path, what="imported config", syntax="toml") if fnmatch.fnmatch(entry, name) else None
            )
            if text is not None and path not in dict(found):
                check_containerd_shapes(path, text)
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
    if request.config and is_rancher_template(request.config, read_input(host, request.config, what="template")):
        template_flavour = "rke2" if "/rke2/" in request.config else "k3s"
        return _rancher(host, template_flavour, settings, template_path=request.config)
    microk8s = request.config == MICROK8S_TEMPLATE or (
        request.config is None and (host.which("microk8s") is not None or host.exists(MICROK8S_TEMPLATE))
    )
    path = MICROK8S_TEMPLATE if microk8s else request.config or containerd_configs(host)[0].path
    text = read_input(host, path, syntax="toml")
    check_containerd_shapes(path, text)
    # only a config without any key needs the installed containerd's own version
    needs_default = not (text or "").strip() or not tomllib_keys(text)
    exe = request.executable or "containerd"
    default_output = host.run([exe, "config", "default"]).stdout if needs_default and host.which(exe) else None
    files = ContainerdFiles(
        path,
        text,
        tuple(imported_files(host, path, text)),
        containerd_edit.default_config_version(default_output),
    )
    notes = []
    dump, failed = runtime_dump(host, request, [[exe, "config", "dump"]])
    if failed:
        notes.append(f"--config-source: {'; '.join(failed)}: read {path} instead.")
    if dump is not None:
        files, note = with_containerd_dump(files, dump)
        notes += [note] if note else []
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
        drop_in_text = read_input(host, drop_in, what="drop-in", syntax="toml")
        check_containerd_shapes(drop_in, drop_in_text)
        edits = containerd_edit.configure_drop_in(files, drop_in, drop_in_text, settings)
    return ConfigureResult(tuple(edits), tuple(notes), "containerd")


def with_containerd_dump(files: ContainerdFiles, dump: str) -> tuple[ContainerdFiles, str | None]:
    """The CRI table of `containerd config dump` as the runtime's view, when it is of the file's version.

    containerd 2.x dumps version 3 even for a version 2 file; a drop-in must be of the main file's
    version (containerd 2.1 merges the files before migrating them: a version 3 drop-in next to a
    version 2 config made it ignore the main file's CRI keys), so then the files are read instead."""
    dumped = parse_dump("`containerd config dump`", dump)
    dumped_version = dumped.get("version", 1)
    version = containerd_edit.file_version(files)
    if dumped_version != version:
        return files, (
            f"containerd's config dump is version {dumped_version}, {files.path} version {version} (containerd 2.x "
            f"shows a version 2 file as version 3): the runtime's settings are read from the files instead."
        )
    plugins = dumped.get("plugins")
    cri = plugins.get(containerd_edit.CRI_PLUGIN[version]) if isinstance(plugins, dict) else None
    return replace(files, effective=cri if isinstance(cri, dict) else {}), None


RANCHER_TEMPLATES = ("config.toml.tmpl", "config-v3.toml.tmpl")
GO_TEMPLATE_LINE = re.compile(r"^[ \t]*\{\{.*\}\}[ \t]*$", re.MULTILINE)


def is_rancher_template(path: str, text: str | None) -> bool:
    """A k3s/RKE2 containerd template wherever it lies: by its name, or by its Go-template lines."""
    return posixpath.basename(path) in RANCHER_TEMPLATES or bool(text and GO_TEMPLATE_LINE.search(text))


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


def _rancher(host: Host, flavour: str, settings: RuntimeSettings, template_path: str | None = None) -> ConfigureResult:
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
    given = template_path is not None  # --config named a template (anywhere): it is the one to edit
    template_path = template_path or f"{folder}/{'config-v3.toml.tmpl' if v3 else 'config.toml.tmpl'}"
    template = read_input(host, template_path, what="template")
    if given:
        v3 = posixpath.basename(template_path) == "config-v3.toml.tmpl" or "version = 3" in (template or "")
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
    dropins = [
        (f"{folder}/{n}", read_input(host, f"{folder}/{n}", what="drop-in", syntax="toml") or "")
        for n in sorted(host.list_dir(folder))
        if host.file_kind(f"{folder}/{n}") == "file"
    ]
    main_text = read_input(host, main, syntax="toml")
    for checked, checked_text in [(main, main_text), *dropins]:
        check_crio_shapes(checked, checked_text)
    if request.drop_in == "":
        target, target_text = main, main_text
        others = dropins
    else:
        target = request.drop_in or crio_edit.DEFAULT_DROP_IN
        target_text = read_input(host, target, what="drop-in", syntax="toml")
        check_crio_shapes(target, target_text)
        others = [(main, main_text or ""), *[(p, t) for p, t in dropins if p != target]]
    notes = ("CRI-O has CDI on by default (since 1.23): nothing to switch on.",) if settings.cdi else ()
    if target_text is None and main_text is None and not host.which("crio"):
        notes += ("CRI-O is not installed here; the file is written for when it is.",)
    commands = [[request.executable or "crio", "status", "config"], ["crio-status", "config"]]
    dump, failed = runtime_dump(host, request, commands)
    if failed:
        notes += (f"--config-source: {'; '.join(failed)}: read {main} instead.",)
    if dump is not None:
        parse_dump("`crio status config`", dump)
        others = [("`crio status config`", dump)]  # CRI-O's own merge of crio.conf and its drop-ins
    edits = crio_edit.configure_crio(target, target_text, others, settings, unset_default=request.drop_in != "")
    return ConfigureResult(tuple(edits), notes, "crio")
