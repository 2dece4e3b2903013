"""The container toolkit layer's planner: NVIDIA's signed repository, the packages, proof they work.

Repository facts from NVIDIA's install guide (docs.nvidia.com/datacenter/cloud-native/container-toolkit):
the key at https://nvidia.github.io/libnvidia-container/gpgkey (primary key C95B321B61E88C1809C4F759DDCAE044F796ECB0,
"NVIDIA CORPORATION (Open Source Projects)", unchanged since 2017), the keyring
/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg and the list
/etc/apt/sources.list.d/nvidia-container-toolkit.list with `stable/deb/$(ARCH) /`; the per-distribution
URLs of older guides (`stable/ubuntu18.04/$(ARCH)`) answer 404 now. dnf: `stable/rpm/$basearch`, the
metadata signed (repo_gpgcheck=1), the packages not (gpgcheck=0). Older lists beside the new one
(`nvidia-docker.list`, `libnvidia-container.list`) make apt stop with "Conflicting values set for
option Signed-By" (DIAGNOSTICS row 9): they are switched off, with a backup, not deleted.
"""

from __future__ import annotations

import re

from gpuwiz.backends.doctor import DoctorReport
from gpuwiz.backends.findings import Layer, Status
from gpuwiz.backends.machine.distro import package_family
from gpuwiz.backends.packages import apt
from gpuwiz.backends.packages.signed_repo import apt_source_edit, apt_source_line, dnf_repo_edit, key_steps
from gpuwiz.backends.packages.toolkit_repo import (
    APT_KEYRING,
    APT_LIST,
    APT_URL,
    PACKAGES,
    REPO_HOST,
    VERSION_PATTERN,
    apt_key,
    dnf_repo,
)
from gpuwiz.backends.planners.choices import Choice, Option, Selections
from gpuwiz.backends.runs.plan import FileEdit, Step

L = Layer.TOOLKIT


def apt_list_text(old: str | None) -> str:
    return apt_source_edit(APT_LIST, apt_source_line(APT_URL, APT_KEYRING), old).new_text


def disabled_source(path: str, text: str) -> str:
    """The file with its entries switched off: one-line entries commented, deb822 stanzas `Enabled: no`."""
    note = "# gpuwiz: switched off, it conflicts with nvidia-container-toolkit.list (Signed-By); delete it if you like"
    if path.endswith(".sources"):
        stanzas = re.split(r"\n\s*\n", text.strip("\n"))
        out = []
        for stanza in stanzas:
            lines = [ln for ln in stanza.splitlines() if not re.match(r"(?i)enabled\s*:", ln)]
            if any(re.match(r"(?i)types\s*:", ln) for ln in lines):
                lines.append("Enabled: no")
            out.append("\n".join(lines))
        return note + "\n" + "\n\n".join(out) + "\n"
    lines = [f"# {ln}" if re.match(r"\s*deb(-src)?\s", ln) else ln for ln in text.splitlines()]
    return note + "\n" + "\n".join(lines) + "\n"


class ToolkitPlanner:
    """Registered as `planner:toolkit` (entry-point group gpuwiz.backends)."""

    layer = L
    name = "toolkit"
    keys = {"toolkit.version": f"latest|{VERSION_PATTERN}"}

    @staticmethod
    def family(report: DoctorReport) -> str | None:
        if report.facts.toolkit is None or report.facts.driver is None:
            return None
        return package_family(report.facts.hardware.os)

    def choices(self, report: DoctorReport) -> list[Choice]:
        toolkit = report.facts.toolkit
        if self.family(report) is None or toolkit is None or toolkit.ctk_path:
            return []
        return [
            Choice(
                "toolkit.version",
                L,
                "Toolkit version",
                (Option("latest", "Latest", "NVIDIA's newest release"),),
                "latest",
                "The newest toolkit reads every containerd config version; an answers file may pin one (1.17.8-1).",
                pattern=VERSION_PATTERN,
            )
        ]

    def plan(self, report: DoctorReport, selections: Selections) -> list[Step]:
        family = self.family(report)
        toolkit, driver = report.facts.toolkit, report.facts.driver
        if family is None or toolkit is None or driver is None:
            return []
        version = selections.get("toolkit.version", "latest")
        sources = dict(driver.apt_sources if family == "apt" else driver.dnf_repos)
        steps = self._stale_sources(sources, family)
        ids = {f.id: f.status for f in report.layer(L).findings}
        repository = self._repository(family, sources, toolkit.keyring)
        if toolkit.ctk_path and not (ids.get("toolkit.too-old-for-containerd2") is Status.FAIL):
            canonical = APT_LIST if family == "apt" else dnf_repo().path
            if canonical in toolkit.outdated_sources or "toolkit.repo-key" in ids:
                steps += repository  # keep the installed toolkit updatable
            return steps
        steps += repository
        if family == "apt":
            steps.append(apt.update_step(L))
            steps.append(self._apt_install(version, upgrade=bool(toolkit.ctk_path)))
        else:
            names = list(PACKAGES) if version == "latest" else [f"{p}-{version}" for p in PACKAGES]
            steps.append(
                Step(
                    "toolkit.install",
                    "Install the NVIDIA Container Toolkit",
                    L,
                    argv=("dnf", "-y", "upgrade" if toolkit.ctk_path else "install", *names),
                    verifies=("toolkit.installed",),
                    why="nvidia-ctk, the runtime and the hook containers get the GPU through.",
                )
            )
        steps += self._verify(report)
        return steps

    @staticmethod
    def _stale_sources(sources: dict[str, str], family: str) -> list[Step]:
        canonical = APT_LIST if family == "apt" else dnf_repo().path
        steps = []
        for path, text in sources.items():
            if path == canonical or REPO_HOST not in text or not _active(text, path):
                continue
            steps.append(
                Step(
                    f"toolkit.disable-source-{len(steps) + 1}",
                    f"Switch off the stale NVIDIA source {path}",
                    L,
                    edit=FileEdit(path, disabled_source(path, text), old_text=text),
                    verifies=("toolkit.stale-sources",),
                    why="A second entry for nvidia.github.io with another keyring stops apt with "
                    "'Conflicting values set for option Signed-By'; the file is kept, its entries commented out.",
                )
            )
        return steps

    @staticmethod
    def _repository(family: str, sources: dict[str, str], keyring: str | None) -> list[Step]:
        if family == "apt":
            old = sources.get(APT_LIST)
            steps = [] if keyring == "ok" else key_steps(apt_key(), layer=L, id_prefix="toolkit")
            text = apt_list_text(old)
            if old is None or not _same_entries(old, text):
                steps.append(
                    Step(
                        "toolkit.apt-source",
                        "Add NVIDIA's container toolkit repository",
                        L,
                        edit=FileEdit(APT_LIST, text, old_text=old),
                        why="The list and keyring NVIDIA's install guide uses, with the current stable/deb URL "
                        "(the older per-distribution URLs answer 404).",
                    )
                )
            if steps and keyring != "ok":
                steps.insert(0, apt.key_tools_step(L))
            return steps
        repo = dnf_repo()
        old = sources.get(repo.path)
        steps = [] if keyring == "ok" else key_steps(repo.key, layer=L, id_prefix="toolkit")
        edit = dnf_repo_edit(repo, old)
        if old != edit.new_text:
            steps.append(
                Step(
                    "toolkit.dnf-repo",
                    "Add NVIDIA's container toolkit repository",
                    L,
                    edit=edit,
                    why="NVIDIA signs this repository's metadata (repo_gpgcheck), checked with the key above.",
                )
            )
        return steps

    @staticmethod
    def _apt_install(version: str, *, upgrade: bool) -> Step:
        names = list(PACKAGES) if version == "latest" else [f"{p}={version}" for p in PACKAGES]
        if upgrade:
            return Step(
                "toolkit.install",
                "Upgrade the NVIDIA Container Toolkit",
                L,
                argv=(*apt.INSTALL_ENV, "apt-get", "install", "-y", "--only-upgrade", *apt.DPKG_OPTIONS, *names),
                verifies=("toolkit.installed", "toolkit.too-old-for-containerd2"),
                why="Toolkits before 1.17.4 cannot read containerd 2's config version 3.",
            )
        step = apt.install_step(
            names,
            step_id="toolkit.install",
            title="Install the NVIDIA Container Toolkit" + ("" if version == "latest" else f" {version}"),
            why="nvidia-ctk, the runtime and the hook containers get the GPU through"
            + ("." if version == "latest" else "; the four packages pinned together, as NVIDIA's guide does."),
            layer=L,
            verifies=("toolkit.installed",),
        )
        return step

    @staticmethod
    def _verify(report: DoctorReport) -> list[Step]:
        steps = [
            Step(
                "toolkit.verify-ctk",
                "Check nvidia-ctk runs",
                L,
                argv=("nvidia-ctk", "--version"),
                needs_root=False,
                verifies=("toolkit.installed",),
                why="Proves the toolkit's command is installed and on PATH.",
            )
        ]
        driver = {f.id: f.status for f in report.layer(Layer.DRIVER).findings}
        if driver.get("driver.nvml") is Status.OK:
            steps.append(
                Step(
                    "toolkit.verify-cli",
                    "Check the toolkit sees the GPUs (nvidia-container-cli info)",
                    L,
                    argv=("nvidia-container-cli", "info"),
                    verifies=("toolkit.libnvidia-ml",),
                    why="It loads libnvidia-ml.so.1 as containers will; 'load library failed' here means the "
                    "driver's libraries are not in the linker cache.",
                )
            )
        return steps


def _active(text: str, path: str) -> bool:
    if path.endswith(".sources"):
        return not re.search(r"(?im)^enabled\s*:\s*no\s*$", text) and bool(re.search(r"(?im)^types\s*:", text))
    return any(re.match(r"\s*deb(-src)?\s", ln) for ln in text.splitlines())


def _same_entries(old: str, new: str) -> bool:
    def entries(text: str) -> list[str]:
        return [" ".join(ln.split()) for ln in text.splitlines() if re.match(r"\s*deb\s", ln)]

    return entries(old) == entries(new)


PLANNER = ToolkitPlanner()
