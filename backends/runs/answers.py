"""Answers files: the user's choices as a commented TOML file (docs/answers.md).

`answers_text` writes one (the wizard's "Save answers"); `load_answers` reads one back into
selections (`"driver.branch" → "580"`) with errors that name the file, line and key. What is
written is every choice offered on this machine, with the options and the recommendation as
comments, so the file explains itself when it is copied to the next node.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import tomlkit

from gpuwiz.backends.errors import InputError
from gpuwiz.backends.findings import LAYERS
from gpuwiz.backends.planners.choices import Choice, Selections, effective, selections_from_answers
from gpuwiz.backends.toml_compat import toml_error_line, tomllib

if TYPE_CHECKING:
    from gpuwiz.backends.doctor import DoctorReport
    from gpuwiz.backends.machine.host import WriteResult

HEADER = (
    "gpuwiz answers file: the choices for `gpuwiz apply --answers FILE` (`gpuwiz help answers`).",
    "One table per layer. A choice that does not arise on a node is noted in its plan and skipped,",
    "so one file serves several nodes alike.",
)


def same_state(report: DoctorReport) -> dict[str, str]:
    """What made this node what it is, as choices for the next one: how its driver was installed
    (method, edition, branch, module flavour), the toolkit version, the runtime it runs and how
    that is set up (default runtime, CDI, containerd config mode), the cluster's GPU stack and taint."""
    f = report.facts
    out: dict[str, str] = {}
    driver = f.driver
    version = driver.kernel_module_version if driver else None
    if version and re.match(r"\d+\.", version):
        out["driver.branch"] = version.split(".", 1)[0]
    else:  # the module is not loaded (a fault on this node): the installed packages say the branch
        for p in driver.packages if driver else ():
            m = re.fullmatch(r"(?:nvidia-driver|cuda-drivers|libnvidia-compute)-(\d{3})(?:-.*)?", p.name)
            if m and p.installed:
                out["driver.branch"] = m.group(1)
                break
    if driver and driver.module_flavour in ("open", "proprietary"):
        out["driver.flavour"] = driver.module_flavour
    out.update(_driver_install(driver))
    toolkit = f.toolkit
    installed = [
        p for p in (toolkit.packages if toolkit else ()) if p.installed and p.name == "nvidia-container-toolkit"
    ]
    if installed:
        out["toolkit.version"] = installed[0].version
    runtime = f.runtime
    k8s = f.k8s
    in_cluster = k8s is not None and k8s.flavour is not None
    if runtime is not None:
        containerd = runtime.containerd if runtime.containerd and runtime.containerd.flavour == "containerd" else None
        # a cluster node's runtime is the one its kubelet talks to; a workstation's is Docker
        engine = (containerd or runtime.docker) if in_cluster else (runtime.docker or containerd)
        if runtime.containerd is not None and runtime.containerd.flavour in ("k3s", "rke2") and in_cluster:
            out["runtime.install"] = "none"  # the next node gets containerd with k3s/RKE2 itself
        elif engine is runtime.docker and engine is not None:
            out["runtime.install"] = "docker-ce" if _docker_ce(report) else "docker"
        elif engine is not None:
            out["runtime.install"] = "containerd"
        elif runtime.podman and not runtime.crio:
            out["runtime.install"] = "podman"
        if engine is not None:
            if engine.cdi is not None:
                out["runtime.cdi"] = "yes" if engine.cdi else "no"
            out["runtime.default"] = "yes" if engine.default_runtime == "nvidia" else "no"
        if containerd is not None and "nvidia" in containerd.runtimes:
            out["runtime.containerd-config"] = "drop-in" if _nvidia_drop_in(runtime) else "in-place"
    if k8s is not None and (k8s.device_plugin or k8s.gpu_operator):
        out["k8s.stack"] = "gpu-operator" if k8s.gpu_operator else "device-plugin"
    node = next((n for n in (k8s.nodes if k8s else ()) if n.name.lower() == (k8s.node_name or "")), None)
    if node is not None:
        out["k8s.taint"] = "yes" if any(t.startswith("nvidia.com/gpu") for t in node.taints) else "no"
    return out


def _driver_install(driver) -> dict[str, str]:
    """driver.method (and on Ubuntu driver.edition) from the installed driver packages."""
    names = {p.name: p.version for p in (driver.packages if driver else ()) if p.installed}
    if not names:
        return {}
    if any(n == "cuda-drivers" or n.startswith(("cuda-drivers-", "nvidia-driver-cuda")) for n in names):
        return {"driver.method": "cuda-repo"}
    ubuntu = {n: v for n, v in names.items() if re.fullmatch(r"nvidia-driver-\d+(-open)?(-server)?(-open)?", n)}
    if ubuntu:
        name = next(iter(ubuntu))
        out = {"driver.method": "ubuntu-drivers" if "ubuntu" in ubuntu[name] else "cuda-repo"}
        if "ubuntu" in ubuntu[name]:
            out["driver.edition"] = "server" if "-server" in name else "desktop"
        return out
    if "nvidia-driver" in names or "nvidia-kernel-dkms" in names:
        return {"driver.method": "distro"}
    return {}


def _docker_ce(report: DoctorReport) -> bool:
    """Docker from Docker's own repository (docker-ce), not the distribution's docker.io."""
    from gpuwiz.backends.packages.docker_repo import APT_LIST

    driver = report.facts.driver
    sources = dict(driver.apt_sources) if driver else {}
    repos = dict(driver.dnf_repos) if driver else {}
    return APT_LIST in sources or any("download.docker.com" in text for text in (*sources.values(), *repos.values()))


def _nvidia_drop_in(runtime) -> bool:
    view = runtime.config_view
    files = dict(view.files) if view is not None else {}
    return any(p.startswith("/etc/containerd/conf.d/") and "nvidia" in text for p, text in files.items())


def answers_text(
    choices: list[Choice], selections: Selections, *, machine: str = "", as_here: Selections | None = None
) -> str:
    """`as_here`: values of choices that do not arise on this machine (its driver is installed) but
    will on the next node: written so that node ends up the same (see same_state)."""
    doc = tomlkit.document()
    for line in HEADER:
        doc.add(tomlkit.comment(line))
    if machine:
        doc.add(tomlkit.comment(f"Saved on {machine}."))
    offered = {c.key for c in choices}
    here = {c.key: (as_here or {}).get(c.key) for c in choices}
    # a choice not picked: what this node has (its runtime's default), else the recommendation
    values = effective(choices, {**{k: v for k, v in here.items() if v is not None}, **selections})
    extra = {k: v for k, v in (as_here or {}).items() if k not in offered}
    for layer in LAYERS:
        mine = [c for c in choices if c.layer is layer]
        theirs = sorted(k for k in extra if k.startswith(layer.value + "."))
        if not mine and not theirs:
            continue
        table = tomlkit.table()
        for choice in mine:
            options = " | ".join(o.value for o in choice.options)
            also = " | a version" if choice.pattern else ""
            table.add(tomlkit.comment(f"{choice.title}: {options}{also}"))
            table.add(tomlkit.comment(f"recommended here: {choice.recommended} ({choice.reason.rstrip('.')})"))
            table.add(choice.name, values[choice.key])
        for key in theirs:
            table.add(tomlkit.comment("as on this node (the choice arises on a node that still needs it)"))
            table.add(key.split(".", 1)[1], extra[key])
        doc.add(tomlkit.nl())
        doc.add(layer.value, table)
    return tomlkit.dumps(doc)


def load_answers(path: str) -> dict[str, str]:
    from gpuwiz.backends.machine.input_file import read_local_input

    try:
        data = tomllib.loads(read_local_input(path, what="answers", syntax="toml"))
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"not valid TOML: {exc}", line=toml_error_line(exc)) from None
    from gpuwiz.backends.planners.registry import check_known_keys

    selections = selections_from_answers(data, source=path)
    check_known_keys(selections, source=path)
    return selections


def save_answers(path: Path, text: str, backup_root: Path | None = None) -> WriteResult:
    """Atomically (a half-written answers file must never be what the next node reads); an existing
    file is backed up first when `backup_root` is given."""
    from gpuwiz.backends.machine.host import atomic_write

    return atomic_write(path, text, mode=None, backup_root=backup_root)
