"""What a plan will change, in a few lines: the files it creates or edits (each with its diff), the
packages it installs, removes and holds, the services it restarts or enables, and whether a reboot
follows. Like `terraform plan`'s last line or an installer's summary page, before the yes.

Pure: derived from the Plan's own data. Packages and services come from parsing the steps' argvs
(apt-get, apt-mark, dnf, ubuntu-drivers, systemctl) and Step.restarts, never from titles; so do
the files a command writes (`curl -o`, `gpg --dearmor -o`, `nvidia-ctk cdi generate --output=`,
`tee`, …), beside the files a step writes itself (Step.edit, each with its diff).
"""

from __future__ import annotations

import difflib
import json
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

from gpuwiz.backends.runs.plan import FileEdit, Plan, Step, render_steps


@dataclass(frozen=True)
class FileChange:
    path: str
    created: bool  # the file does not exist before the plan
    diff: str  # from before the plan's first edit of it to after its last
    steps: tuple[str, ...] = ()  # ids of the steps that write it


@dataclass(frozen=True)
class CommandWrite:
    """A file (or directory) a command creates or overwrites; no diff: the command makes the content."""

    path: str
    command: str  # "nvidia-ctk cdi generate"
    step: str  # the step's id
    directory: bool = False


@dataclass(frozen=True)
class ChangeSummary:
    files: tuple[FileChange, ...] = ()
    written: tuple[CommandWrite, ...] = ()  # by a step's command, not by gpuwiz itself
    installed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    held: tuple[str, ...] = ()
    restarted: tuple[str, ...] = ()  # systemd units
    enabled: tuple[str, ...] = ()
    started: tuple[str, ...] = ()
    stopped: tuple[str, ...] = ()  # stopped or disabled
    applied: tuple[str, ...] = ()  # Kubernetes manifests `kubectl apply -f` applies
    charts: tuple[str, ...] = ()  # Helm releases installed or upgraded: "nvdp (nvdp/nvidia-device-plugin 0.17.1)"
    reboot: bool = False
    steps: int = 0
    notes: tuple[str, ...] = field(default=())  # "apt-get autoremove: packages nothing needs any more"

    @property
    def created(self) -> tuple[FileChange, ...]:
        return tuple(f for f in self.files if f.created)

    @property
    def edited(self) -> tuple[FileChange, ...]:
        return tuple(f for f in self.files if not f.created)

    @property
    def empty(self) -> bool:
        return (
            not (
                self.files
                or self.written
                or self.installed
                or self.removed
                or self.held
                or self.services
                or self.applied
                or self.charts
            )
            and not self.reboot
        )

    @property
    def services(self) -> tuple[str, ...]:
        return (*self.restarted, *self.enabled, *self.started, *self.stopped)


# --- argv parsing -------------------------------------------------------------------------------

_APT_VALUE_OPTIONS = {"-o", "-c", "-t", "-a", "--option", "--config-file", "--target-release", "--host-architecture"}
_DNF_VALUE_OPTIONS = {
    "-c",
    "--config",
    "-x",
    "--exclude",
    "--repo",
    "--repoid",
    "--enablerepo",
    "--disablerepo",
    "--releasever",
    "--installroot",
    "--setopt",
    "-d",
    "--debuglevel",
    "-e",
    "--errorlevel",
}


def _command(argv: tuple[str, ...]) -> list[str]:
    """The argv without a leading `env VAR=value …` or `sudo`."""
    words = list(argv)
    while words and (words[0] in ("env", "sudo", "nice", "ionice") or re.fullmatch(r"\w+=.*", words[0])):
        words.pop(0)
    return words


def _operands(words: list[str], value_options: set[str]) -> list[str]:
    """The words that are not options or option values."""
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word == "--":
            continue
        elif word.startswith("-"):
            skip = word in value_options  # `-o X`; `--setopt=X` carries its value
        else:
            out.append(word)
    return out


@dataclass
class _Found:
    installed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    enabled: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: list[tuple[str, str, bool]] = field(default_factory=list)  # (path, command, a directory)

    def writes(self, path: str, command: str, *, directory: bool = False) -> None:
        self.written.append((path, command, directory))


def _apt(words: list[str], found: _Found) -> None:
    ops = _operands(words[1:], _APT_VALUE_OPTIONS)
    if not ops:
        return
    verb, names = ops[0], ops[1:]
    if verb in ("install", "reinstall"):
        for name in names:  # apt's own spelling: `pkg-` in an install removes it
            (found.removed if name.endswith("-") and len(name) > 1 else found.installed).append(
                name.rstrip("-") or name
            )
    elif verb in ("remove", "purge"):
        for name in names:
            (found.installed if name.endswith("+") else found.removed).append(name.rstrip("+") or name)
    elif verb == "autoremove":
        found.removed += names
        found.notes.append(f"{words[0]} autoremove: the packages nothing needs any more are removed too")


def _apt_mark(words: list[str], found: _Found) -> None:
    ops = _operands(words[1:], {"-o", "-c", "--option", "--config-file", "-f", "--file"})
    if ops and ops[0] == "hold":
        found.held += ops[1:]


def _dnf(words: list[str], found: _Found) -> None:
    ops = _operands(words[1:], _DNF_VALUE_OPTIONS)
    if not ops:
        return
    verb, names = ops[0], ops[1:]
    if verb == "module" and names:  # dnf module install nvidia-driver:610-dkms
        sub, streams = names[0], names[1:]
        if sub == "install":
            found.installed += [f"@{s}" for s in streams]
        elif sub in ("remove", "erase"):
            found.removed += [f"@{s}" for s in streams]
        return
    if verb in ("install", "reinstall"):
        found.installed += names
    elif verb in ("remove", "erase"):
        found.removed += names
    elif verb == "autoremove":
        found.removed += names
        found.notes.append(f"{words[0]} autoremove: the packages nothing needs any more are removed too")
    elif verb == "versionlock" and names and names[0] in ("add", "exclude"):
        found.held += names[1:]


def _ubuntu_drivers(words: list[str], found: _Found) -> None:
    ops = _operands(words[1:], {"--package-list"})
    if ops and ops[0] in ("install", "autoinstall"):
        found.installed += [f"{d} (ubuntu-drivers)" for d in ops[1:]] or ["the recommended driver (ubuntu-drivers)"]


def _systemctl(words: list[str], found: _Found) -> None:
    now = "--now" in words
    ops = _operands(words[1:], {"-H", "--host", "-M", "--machine", "-t", "--type", "-p", "--property"})
    if not ops:
        return
    verb, units = ops[0], ops[1:]
    if verb in ("restart", "try-restart", "reload-or-restart", "try-reload-or-restart", "reload"):
        found.restarted += units
    elif verb == "enable":
        found.enabled += units
        found.started += units if now else []
    elif verb == "start":
        found.started += units
    elif verb in ("stop", "disable", "mask"):
        found.stopped += units


_KUBECTL_VALUE_OPTIONS = {"--kubeconfig", "-n", "--namespace", "--context", "-f", "--filename", "-l", "--selector"}


def _kubectl(words: list[str], found: _Found) -> None:
    if words[0].rsplit("/", 1)[-1] in ("k3s", "microk8s"):  # k3s kubectl …, microk8s kubectl …
        words = words[1:]
    ops = _operands(words[1:], _KUBECTL_VALUE_OPTIONS)
    if ops[:1] == ["apply"]:
        for i, word in enumerate(words):
            if word in ("-f", "--filename") and i + 1 < len(words):
                found.applied.append(words[i + 1])
            elif word.startswith("--filename="):
                found.applied.append(word.split("=", 1)[1])


_HELM_VALUE_OPTIONS = {
    "--kubeconfig",
    "-n",
    "--namespace",
    "--version",
    "--set",
    "--set-string",
    "-f",
    "--values",
    "--kube-context",
    "--timeout",
}


def _helm(words: list[str], found: _Found) -> None:
    ops = _operands(words[1:], _HELM_VALUE_OPTIONS)
    release = None
    if ops[:1] == ["upgrade"] and "--install" in words and len(ops) >= 3:
        release = ops[1:3]
    elif ops[:1] == ["install"] and len(ops) >= 3:
        release = ops[1:3]
    if release:
        version = next((words[i + 1] for i, w in enumerate(words[:-1]) if w == "--version"), "")
        found.charts.append(f"{release[0]} ({release[1]}{' ' + version if version else ''})")


# --- files that commands write ----------------------------------------------------------------


def _option_values(words: list[str], names: tuple[str, ...]) -> list[str]:
    """The values of `-o FILE`, `--output FILE`, `--output=FILE` (and `-oFILE` for a short name)."""
    out: list[str] = []
    for i, word in enumerate(words):
        for name in names:
            if word == name and i + 1 < len(words):
                out.append(words[i + 1])
            elif name.startswith("--") and word.startswith(name + "="):
                out.append(word.split("=", 1)[1])
            elif not name.startswith("--") and word.startswith(name) and len(word) > len(name):
                out.append(word[len(name) :])
    return out


def _curl(words: list[str], found: _Found) -> None:
    for path in _option_values(words, ("-o", "--output")):
        found.writes(path, "curl")


def _wget(words: list[str], found: _Found) -> None:
    for path in _option_values(words, ("-O", "--output-document")):
        if path != "-":
            found.writes(path, "wget")


def _gpg(words: list[str], found: _Found) -> None:
    verb = "gpg --dearmor" if "--dearmor" in words else "gpg --export" if "--export" in words else "gpg"
    for path in _option_values(words, ("-o", "--output")):
        found.writes(path, verb)


def _tee(words: list[str], found: _Found) -> None:
    verb = "tee -a" if {"-a", "--append"} & set(words) else "tee"
    for path in _operands(words[1:], set()):
        found.writes(path, verb)


def _install(words: list[str], found: _Found) -> None:
    """`install -d DIR…` creates directories; `install SRC… DEST` writes DEST."""
    ops = _operands(words[1:], {"-m", "--mode", "-o", "--owner", "-g", "--group", "-t", "--target-directory"})
    if "-d" in words or "--directory" in words:
        for path in ops:
            found.writes(path, "install -d", directory=True)
    elif len(ops) >= 2:
        found.writes(ops[-1], "install")


def _copy(words: list[str], found: _Found) -> None:
    ops = _operands(words[1:], {"-t", "--target-directory", "-S", "--suffix"})
    if len(ops) >= 2:
        found.writes(ops[-1], words[0].rsplit("/", 1)[-1])


# Where `nvidia-ctk runtime configure` writes without --config: nvidia-ctk's own defaults.
_CTK_RUNTIME_CONFIG = {
    "docker": "/etc/docker/daemon.json",
    "containerd": "/etc/containerd/config.toml",
    "crio": "/etc/crio/crio.conf",
}
_CTK_CONFIG = "/etc/nvidia-container-runtime/config.toml"


def _nvidia_ctk(words: list[str], found: _Found) -> None:
    ops = _operands(words[1:], {"--config", "--output", "--runtime", "-o", "-c", "--log-level"})
    if ops[:2] == ["runtime", "configure"]:
        runtime = next(iter(_option_values(words, ("--runtime",))), "docker")
        if "--dry-run" in words:
            return
        for path in _option_values(words, ("--config",)) or [_CTK_RUNTIME_CONFIG.get(runtime, "")]:
            if path:
                found.writes(path, f"nvidia-ctk runtime configure --runtime={runtime}")
        for path in _option_values(words, ("--drop-in-config",)):
            found.writes(path, f"nvidia-ctk runtime configure --runtime={runtime}")
    elif ops[:2] == ["cdi", "generate"]:
        for path in _option_values(words, ("--output", "-o")):
            found.writes(path, "nvidia-ctk cdi generate")
    elif ops[:1] == ["config"] and ("--in-place" in words or "-i" in words):
        for path in _option_values(words, ("--config", "-c")) or [_CTK_CONFIG]:
            found.writes(path, "nvidia-ctk config --in-place")


def _dpkg(words: list[str], found: _Found) -> None:
    if "-i" in words or "--install" in words:
        found.installed += [w for w in _operands(words[1:], set()) if w.endswith(".deb")]
    elif {"-r", "--remove", "-P", "--purge"} & set(words):
        found.removed += _operands(words[1:], set())


def _update_initramfs(words: list[str], found: _Found) -> None:
    if "-u" in words or "-c" in words:
        kernels = _option_values(words, ("-k",)) or ["<running kernel>"]
        for kernel in kernels:
            found.writes("/boot/initrd.img-*" if kernel == "all" else f"/boot/initrd.img-{kernel}", "update-initramfs")


_PARSERS = {
    "apt-get": _apt,
    "apt": _apt,
    "apt-mark": _apt_mark,
    "dnf": _dnf,
    "yum": _dnf,
    "microdnf": _dnf,
    "ubuntu-drivers": _ubuntu_drivers,
    "systemctl": _systemctl,
    "kubectl": _kubectl,
    "k3s": _kubectl,
    "microk8s": _kubectl,
    "helm": _helm,
    "curl": _curl,
    "wget": _wget,
    "gpg": _gpg,
    "tee": _tee,
    "install": _install,
    "cp": _copy,
    "mv": _copy,
    "nvidia-ctk": _nvidia_ctk,
    "dpkg": _dpkg,
    "update-initramfs": _update_initramfs,
}


def _parse(step: Step, found: _Found) -> list[tuple[str, str, bool]]:
    """Adds what the step's command changes to `found`; returns the files it writes."""
    before = len(found.written)
    if step.argv:
        words = _command(step.argv)
        if words:
            parser = _PARSERS.get(words[0].rsplit("/", 1)[-1])
            if parser is not None:
                parser(words, found)
    found.restarted += step.restarts
    return found.written[before:]


def _once(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def summarize(plan: Plan) -> ChangeSummary:
    """What the plan changes, in plan order, each name once."""
    found = _Found()
    first: dict[str, FileEdit] = {}
    last: dict[str, FileEdit] = {}
    writers: dict[str, list[str]] = {}
    written: dict[str, CommandWrite] = {}
    for step in plan.steps:
        for path, command, directory in _parse(step, found):
            written.setdefault(path, CommandWrite(path, command, step.id, directory))
        if step.edit is not None:
            first.setdefault(step.edit.path, step.edit)
            last[step.edit.path] = step.edit
            writers.setdefault(step.edit.path, []).append(step.id)
    files = []
    for path, edit in first.items():
        combined = FileEdit(path, last[path].new_text, edit.old_text, last[path].mode)
        files.append(FileChange(path, edit.old_text is None, shown_diff(combined), tuple(writers[path])))
    removed = _once(found.removed)
    return ChangeSummary(
        files=tuple(files),
        written=tuple(w for path, w in written.items() if path not in first),
        installed=tuple(p for p in _once(found.installed) if p not in removed),
        removed=removed,
        held=_once(found.held),
        restarted=_once(found.restarted),
        enabled=_once(found.enabled),
        started=tuple(u for u in _once(found.started) if u not in found.restarted),
        stopped=_once(found.stopped),
        applied=_once(found.applied),
        charts=_once(found.charts),
        reboot=plan.needs_reboot,
        steps=len(plan.steps),
        notes=_once(found.notes),
    )


# --- rendering ----------------------------------------------------------------------------------


def summary_rows(summary: ChangeSummary) -> list[tuple[str, str]]:
    """(label, text) rows, one kind of change a row; files one a row."""
    rows: list[tuple[str, str]] = []
    for f in summary.created:
        rows.append(("create", f.path))
    for f in summary.edited:
        rows.append(("edit", f.path))
    for w in summary.written:
        rows.append(("mkdir" if w.directory else "write", f"{w.path}  (by {w.command})"))
    for label, items in (
        ("install", summary.installed),
        ("remove", summary.removed),
        ("hold", summary.held),
        ("restart", summary.restarted),
        ("enable", summary.enabled),
        ("start", summary.started),
        ("stop", summary.stopped),
        ("apply", summary.applied),
        ("helm", summary.charts),
    ):
        if items:
            rows.append((label, (", " if label == "helm" else " ").join(items)))
    rows += [("note", n) for n in summary.notes]
    if summary.reboot:
        rows.append(("reboot", "a reboot follows; run gpuwiz again after it"))
    return rows


def counts_line(summary: ChangeSummary) -> str:
    """`2 files created, 1 file edited, 6 packages installed, 1 package held, 1 service restarted, then a reboot`."""
    parts = []
    for count, noun, verb in (
        (len(summary.created), "file", "created"),
        (len(summary.edited), "file", "edited"),
        (sum(not w.directory for w in summary.written), "file", "written by commands"),
        (sum(w.directory for w in summary.written), "directory", "created"),
        (len(summary.installed), "package", "installed"),
        (len(summary.removed), "package", "removed"),
        (len(summary.held), "package", "held"),
        (len(summary.restarted), "service", "restarted"),
        (len(summary.enabled), "service", "enabled"),
        (len(summary.started), "service", "started"),
        (len(summary.stopped), "service", "stopped"),
        (len(summary.applied), "manifest", "applied"),
        (len(summary.charts), "Helm chart", "installed"),
    ):
        if count:
            plural = "directories" if noun == "directory" else f"{noun}s"
            parts.append(f"{count} {noun if count == 1 else plural} {verb}")
    line = ", ".join(parts) or "no file, package or service changes"
    return line + (", then a reboot" if summary.reboot else "")


def render_summary_text(summary: ChangeSummary, width: int = 100) -> str:
    """The summary as plain text (`plan --format text`, `apply` before its question)."""
    lines = [f"Changes: {counts_line(summary)}"]
    for label, text in summary_rows(summary):
        wrapped = textwrap.wrap(text, width=max(20, width - 12), break_on_hyphens=False) or [""]
        lines.append(f"  {label:<8}  {wrapped[0]}")
        lines += [f"  {'':<8}  {more}" for more in wrapped[1:]]
    return "\n".join(lines) + "\n"


# --- how a file is shown ------------------------------------------------------------------------


def _kubernetes_manifest(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("apiVersion"), str) and isinstance(data.get("kind"), str):
        return data
    return None


def shown_diff(edit: FileEdit) -> str:
    """The diff to show for a file edit: a Kubernetes manifest (JSON on disk, which kubectl reads)
    is shown as YAML, what people who use Kubernetes read; every other file as its own diff."""
    new = _kubernetes_manifest(edit.new_text)
    if new is None:
        return edit.diff()
    old = _kubernetes_manifest(edit.old_text) if edit.old_text is not None else None
    if edit.old_text is not None and old is None:
        return edit.diff()
    before = f"{edit.path} (as YAML)" if edit.old_text is not None else "/dev/null"
    return "".join(
        difflib.unified_diff(
            to_yaml(old).splitlines(keepends=True) if old is not None else [],
            to_yaml(new).splitlines(keepends=True),
            before,
            f"{edit.path} (as YAML; written as JSON)",
        )
    )


_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(data: Any, indent: int = 0) -> str:
    """Block-style YAML for JSON-compatible data (dicts, lists, strings, numbers, booleans, null).
    Strings that YAML would read as something else (numbers, booleans, `a: b`) are quoted."""
    pad = " " * indent
    if isinstance(data, dict):
        if not data:
            return pad + "{}\n"
        out = []
        for key, value in data.items():
            name = _scalar(str(key))
            if isinstance(value, (dict, list)) and value:
                body = to_yaml(value, indent + 2) if isinstance(value, dict) else to_yaml(value, indent)
                out.append(f"{pad}{name}:\n{body}")
            else:
                out.append(f"{pad}{name}: {_inline(value)}\n")
        return "".join(out)
    if isinstance(data, list):
        if not data:
            return pad + "[]\n"
        out = []
        for item in data:
            if isinstance(item, dict) and item:
                body = to_yaml(item, indent + 2)
                out.append(f"{pad}- {body[indent + 2 :]}")
            elif isinstance(item, list) and item:
                out.append(f"{pad}-\n{to_yaml(item, indent + 2)}")
            else:
                out.append(f"{pad}- {_inline(item)}\n")
        return "".join(out)
    return pad + _inline(data) + "\n"


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def render_text(plan: Plan) -> str:
    """`plan --format text` and what `apply` shows: the steps, then what they change (what the yes is to)."""
    text = render_steps(plan)
    if not plan.steps:
        return text
    return text + "\n" + render_summary_text(summarize(plan)).rstrip("\n") + "\n"
