"""apt (Debian/Ubuntu) for the driver layer: package sources, Steps, and apt's own outputs.

Everything here is a pure function (text in, data or Steps out) except `read_source_files`,
`update_lists` and `simulate_install`, which go through the Host. Steps run later, through the
executor, exactly as they are built here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, Sequence

from gpuwiz.backends.errors import InputError
from gpuwiz.backends.findings import Layer
from gpuwiz.backends.machine.host import Host
from gpuwiz.backends.runs.plan import FileEdit, Guard, Step

if TYPE_CHECKING:
    from debian.deb822 import Deb822

SOURCES_LIST = "/etc/apt/sources.list"
SOURCES_DIR = "/etc/apt/sources.list.d"
NONFREE_SOURCES_PATH = f"{SOURCES_DIR}/gpuwiz-nonfree.sources"
UNATTENDED_UPGRADES_PATH = "/etc/apt/apt.conf.d/51gpuwiz-nvidia"

APT_TIMEOUT = 120.0
INSTALL_ENV = ("env", "DEBIAN_FRONTEND=noninteractive")
# Wait for the dpkg lock (unattended-upgrades holds it for minutes after a cloud VM boots) and
# keep locally edited conffiles instead of stopping at dpkg's prompt, which nobody can answer.
# apt-get update takes the lists lock, which DPkg::Lock::Timeout does not cover (apt 2.6).
# STATUS_FD: apt's machine-readable progress lines on stdout, among the ordinary output (apt_progress).
STATUS_FD = ("-o", "APT::Status-Fd=1")
DPKG_OPTIONS = (
    "-o",
    "DPkg::Lock::Timeout=300",
    "-o",
    "Dpkg::Options::=--force-confdef",
    "-o",
    "Dpkg::Options::=--force-confold",
    *STATUS_FD,
)

# Components the NVIDIA driver's packages and their helpers live in, per distribution release.
# Debian moved firmware to non-free-firmware with bookworm (12); older releases lack it.
DEBIAN_OLD_COMPONENTS = {
    "stretch": ("contrib", "non-free"),
    "buster": ("contrib", "non-free"),
    "bullseye": ("contrib", "non-free"),
}
DEBIAN_COMPONENTS = ("contrib", "non-free", "non-free-firmware")
UBUNTU_COMPONENTS = ("restricted",)  # nvidia-driver-NNN resolves from main + restricted alone
UBUNTU_CODENAMES = frozenset("bionic focal jammy kinetic lunar mantic noble oracular plucky questing resolute".split())

# unattended-upgrades matches these with Python's re.match (anchored at the start), and turns
# the ones that are also POSIX regexes into apt pins `/^<regex>/`, so a leading `^` is correct
# under both. The container toolkit is left out on purpose: its security fixes should flow.
UNATTENDED_UPGRADES_BLACKLIST = (
    "^nvidia-(?!container-|docker)",  # nvidia-driver*, nvidia-kernel-dkms, nvidia-dkms-NNN, nvidia-utils-NNN, …
    "^libnvidia-(?!container)",  # libnvidia-ml1, libnvidia-compute-NNN, libnvidia-gl-NNN, …
    "^libcuda1$",
    "^libnvcuvid1$",
    "^libnvoptix1$",
    "^libgl1-nvidia-",
    "^lib(egl|gles|glx)-nvidia",
    "^xserver-xorg-video-nvidia",
    "^firmware-nvidia-",  # Debian's GSP firmware, versioned with the module
    "^linux-(modules|objects|signatures)-nvidia-",  # Ubuntu's prebuilt modules
)

_DISABLED_WORDS = frozenset({"no", "false", "without", "off", "disable"})
_APT_FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]+\.(list|sources)$")


class AptSourcesError(ValueError):
    """The apt sources give nothing to build on (no mirror of the release with `main`)."""


# --- sources ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AptSource:
    """One (type, URI, suite) entry; a deb822 stanza with several of each gives several."""

    path: str
    type: str  # "deb" or "deb-src"
    uri: str
    suite: str
    components: tuple[str, ...] = ()  # empty for a flat repository (suite "/" or "./…")
    signed_by: str | None = None  # keyring path(s) or fingerprints, or an armored key (lines joined by \n)
    architectures: tuple[str, ...] = ()
    enabled: bool = True  # False: `Enabled: no`, or a commented-out one-line entry
    line: int = 0  # where the entry starts in its file, 1-based

    @property
    def inline_key(self) -> bool:
        return bool(self.signed_by and "-----BEGIN PGP" in self.signed_by)


def read_source_files(host: Host) -> dict[str, str]:
    """The files apt reads its sources from, by path, in apt's order.

    Like apt, only names of letters, digits, `_`, `-` and `.` ending in .list or .sources count
    (so `foo.list.save` or `foo.list.disabled` are not sources).
    """
    files: dict[str, str] = {}
    text = host.read_text(SOURCES_LIST)
    if text is not None:
        files[SOURCES_LIST] = text
    for name in host.list_dir(SOURCES_DIR):
        if _APT_FILE_NAME.match(name):
            text = host.read_text(f"{SOURCES_DIR}/{name}")
            if text is not None:
                files[f"{SOURCES_DIR}/{name}"] = text
    return files


def parse_sources(files: Mapping[str, str]) -> list[AptSource]:
    """Every entry of one-line (`*.list`) and deb822 (`*.sources`) files, in file order.

    Raises InputError (path and line) for an active entry apt itself would reject.
    """
    out: list[AptSource] = []
    for path, text in files.items():
        out += _parse_deb822(path, text) if path.endswith(".sources") else _parse_one_line(path, text)
    return out


def _split_words(text: str) -> list[str]:
    """apt's word splitting: `[…]` and `"…"` keep their spaces (`cdrom:[Ubuntu 22.04 …]/`)."""
    words: list[str] = []
    current: list[str] = []
    closing: str | None = None
    for ch in text:
        if closing:
            current.append(ch)
            if ch == closing:
                closing = None
        elif ch.isspace():
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(ch)
            if ch in '["':
                closing = "]" if ch == "[" else '"'
    if current:
        words.append("".join(current))
    return [w.replace('"', "") for w in words]


def _parse_one_line(path: str, text: str) -> list[AptSource]:
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        enabled = not line.startswith("#")
        if not enabled:
            line = line.lstrip("#").strip()
            if not re.match(r"deb(-src)?(\s|\[)", line):
                continue  # an ordinary comment
        line = line.split("#", 1)[0].strip()  # apt drops everything after a '#'
        if not line:
            continue
        words = _split_words(line)
        kind, rest = words[0], words[1:]
        options: dict[str, str] = {}
        if rest and rest[0].startswith("["):
            options = _one_line_options(rest[0].strip("[]"))
            rest = rest[1:]
        problem = None
        if kind not in ("deb", "deb-src"):
            problem = f"unknown type {kind!r} (expected deb or deb-src)"
        elif len(rest) < 2:
            problem = "expected a URI and a suite"
        if problem:
            if enabled:
                raise InputError(path, problem, line=number)
            continue  # a commented-out line that only looks like an entry
        arch = options.get("arch")
        out.append(
            AptSource(
                path=path,
                type=kind,
                uri=rest[0],
                suite=rest[1],
                components=tuple(rest[2:]),
                signed_by=options.get("signed-by"),
                architectures=tuple(arch.split(",")) if arch else (),
                enabled=enabled,
                line=number,
            )
        )
    return out


def _one_line_options(text: str) -> dict[str, str]:
    options = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if sep:
            options[key.rstrip("+-").lower()] = value
    return options


def _deb822_stanzas(path: str, text: str) -> list[tuple[int, Deb822]]:
    """(line of its first field, the stanza) per stanza, as python-debian parses them.

    python-debian reads the lines one stanza at a time, so the lines it has taken tell where each
    stanza ends; it starts at the first line after the one before that is not blank or a comment.
    """
    from debian.deb822 import Deb822  # imported here: ~30 ms that a machine without .sources files need not pay

    lines = text.splitlines(keepends=True)
    taken = 0

    def counted() -> Iterator[str]:
        nonlocal taken
        for line in lines:
            taken += 1
            yield line

    def first_field(begin: int, end: int) -> int | None:
        """The 1-based number of the first line in lines[begin:end] that is not blank or a comment."""
        return next((n + 1 for n in range(begin, end) if lines[n].strip() and not lines[n].startswith("#")), None)

    stanzas: list[tuple[int, Deb822]] = []
    end = 0
    for stanza in Deb822.iter_paragraphs(counted(), use_apt_pkg=False):
        stanzas.append((first_field(end, taken) or end + 1, stanza))
        end = taken
    stray = first_field(end, len(lines))
    if stray is not None:  # python-debian stops at a stanza with no field in it; apt rejects the file
        raise InputError(path, "not a deb822 field (expected Name: value)", line=stray)
    return stanzas


def _words(stanza: Deb822, name: str) -> list[str]:
    return stanza.get(name, "").split()


def _parse_deb822(path: str, text: str) -> list[AptSource]:
    out = []
    for start, stanza in _deb822_stanzas(path, text):
        enabled = stanza.get("Enabled", "yes").strip().lower() not in _DISABLED_WORDS
        types, uris, suites = _words(stanza, "Types"), _words(stanza, "URIs"), _words(stanza, "Suites")
        for name, values in (("Types", types), ("URIs", uris), ("Suites", suites)):
            if not values and enabled:
                raise InputError(path, f"the stanza has no {name} field", line=start)
        first, *more = [line.strip() for line in stanza.get("Signed-By", "").split("\n")]
        if first:  # keyring paths or fingerprints
            signed_by = " ".join(line for line in (first, *more) if line) or None
        else:  # an inline key in the continuation lines, "." standing for an empty line
            signed_by = "\n".join("" if line == "." else line for line in more) or None
        for kind in types:
            for uri in uris:
                for suite in suites:
                    out.append(
                        AptSource(
                            path=path,
                            type=kind,
                            uri=uri,
                            suite=suite,
                            components=tuple(_words(stanza, "Components")),
                            signed_by=signed_by,
                            architectures=tuple(_words(stanza, "Architectures")),
                            enabled=enabled,
                            line=start,
                        )
                    )
    return out


def render_deb822(sources: Iterable[AptSource]) -> str:
    """Entries as deb822 stanzas (one per entry), inline keys kept as apt reads them."""
    stanzas = []
    for s in sources:
        lines = [f"Types: {s.type}", f"URIs: {s.uri}", f"Suites: {s.suite}"]
        if s.components:
            lines.append("Components: " + " ".join(s.components))
        if s.architectures:
            lines.append("Architectures: " + " ".join(s.architectures))
        if s.signed_by and "\n" in s.signed_by:
            lines.append("Signed-By:")
            lines += [" " + (line if line.strip() else ".") for line in s.signed_by.split("\n")]
        elif s.signed_by:
            lines.append(f"Signed-By: {s.signed_by}")
        if not s.enabled:
            lines.append("Enabled: no")
        stanzas.append("\n".join(lines) + "\n")
    return "\n".join(stanzas)


def components_enabled(sources: Iterable[AptSource], suite: str) -> set[str]:
    """Components of the enabled binary (`deb`) entries for exactly this suite ("bookworm")."""
    return {c for s in sources if s.enabled and s.type == "deb" and s.suite == suite for c in s.components}


def driver_components(codename: str, distro: str | None = None) -> tuple[str, ...]:
    """The components the NVIDIA driver needs besides `main` on this release."""
    if (distro or ("ubuntu" if codename in UBUNTU_CODENAMES else "debian")) == "ubuntu":
        return UBUNTU_COMPONENTS
    return DEBIAN_OLD_COMPONENTS.get(codename, DEBIAN_COMPONENTS)


def release_suites(codename: str) -> tuple[str, ...]:
    """The release's base, -updates and -security suites (buster still spelled security `/updates`)."""
    return (codename, f"{codename}-updates", f"{codename}-security", f"{codename}/updates")


def release_has_main(sources: Sequence[AptSource], codename: str) -> bool:
    """Whether an enabled entry of the release's own suites has `main` (the distribution's archive)."""
    suites = release_suites(codename)
    return any(
        s.enabled
        and s.type == "deb"
        and s.suite in suites
        and s.path != NONFREE_SOURCES_PATH
        and "main" in s.components
        for s in sources
    )


def nonfree_sources_edit(
    sources: Sequence[AptSource],
    codename: str,
    existing_text: str | None,
    *,
    distro: str | None = None,
) -> FileEdit | None:
    """The file that adds only the missing driver components, or None when nothing is missing.

    For each mirror and suite of the release (base, -updates, -security) whose entries enable
    `main`, it adds the components of `driver_components` they lack, with the same URI,
    Signed-By and Architectures. `existing_text` is the current text of NONFREE_SOURCES_PATH
    (None: absent); entries from that file itself do not count as enabled, so the file follows
    the system's own sources (emptied to a comment when they come to enable everything).
    `distro` ("debian" or "ubuntu") defaults to a guess from the codename.
    Raises AptSourcesError when no enabled entry of the release has `main`.
    """
    needed = driver_components(codename, distro)
    suites = release_suites(codename)
    groups: dict[tuple[str, str], list[AptSource]] = {}
    for s in sources:
        if s.enabled and s.type == "deb" and s.suite in suites and s.path != NONFREE_SOURCES_PATH:
            groups.setdefault((s.uri.rstrip("/"), s.suite), []).append(s)
    add: list[AptSource] = []
    with_main = 0
    for (_, suite), entries in groups.items():
        have = {c for e in entries for c in e.components}
        if "main" not in have:
            continue  # not the distribution's own archive (a vendor repository using the codename)
        with_main += 1
        missing = tuple(c for c in needed if c not in have)
        if missing:
            signed_by = next((e.signed_by for e in entries if e.signed_by), None)
            arch = next((e.architectures for e in entries if e.architectures), ())
            add.append(AptSource(NONFREE_SOURCES_PATH, "deb", entries[0].uri, suite, missing, signed_by, arch))
    if not with_main:
        raise AptSourcesError(f"no enabled apt source of {codename} has the main component")
    header = (
        "# Written by gpuwiz: the apt components the NVIDIA driver needs ("
        + " ".join(needed)
        + "),\n# added to the mirrors and suites your own sources use. Delete this file to undo.\n"
    )
    if add:
        text = header + "\n" + render_deb822(add)
    elif existing_text is None:
        return None
    else:
        text = header + "# Nothing to add: your own sources enable them all.\n"
    if text == existing_text:
        return None
    return FileEdit(NONFREE_SOURCES_PATH, text, old_text=existing_text)


# --- Steps --------------------------------------------------------------------------------------


def installed_check(packages: Sequence[str]) -> Guard:
    """Holds only when dpkg says every package is installed (held ones too).

    Its exit status alone cannot tell: `dpkg -s`, `dpkg-query -W` and `dpkg --verify` all exit 0
    for a package that was removed but not purged ("rc", config-files). dpkg-query prints the
    state (installed, config-files, half-installed, unpacked, …) of each; a package dpkg does not
    know makes it print "no packages found matching …" and exit 1.
    """
    return _status_guard(packages, "${db:Status-Status}", "installed")


def held_check(packages: Sequence[str]) -> Guard:
    """Holds only when every package is installed and held (`apt-mark hold`)."""
    return _status_guard(packages, "${db:Status-Want} ${db:Status-Status}", "hold installed")


def _status_guard(packages: Sequence[str], fields: str, expected: str) -> Guard:
    if not packages:
        raise ValueError("no packages given")
    return Guard(("dpkg-query", "-W", "-f", fields + r"\n", *packages), every_line=expected)  # dpkg-query reads the \n


def nonfree_sources_step(edit: FileEdit) -> Step:
    return Step(
        id="driver.apt-sources",
        title="Enable the apt components the NVIDIA driver is in",
        layer=Layer.DRIVER,
        edit=edit,
        why="Debian ships the driver in non-free and contrib (Ubuntu in restricted); "
        "a file of its own adds just those and leaves your sources untouched.",
    )


def update_step(layer: Layer = Layer.DRIVER) -> Step:
    return Step(
        id=f"{layer.value}.apt-update",
        title="Refresh the package lists",
        layer=layer,
        argv=("apt-get", "update"),
        why="apt only knows packages of newly enabled components after it has downloaded their lists.",
    )


def install_step(
    packages: Sequence[str],
    *,
    step_id: str,
    title: str,
    why: str,
    recommends: bool = True,
    layer: Layer = Layer.DRIVER,
    verifies: tuple[str, ...] = ("driver.module", "driver.nvml"),
) -> Step:
    """`apt-get install` non-interactively, skipped when every package is already installed.

    Recommends stay on by default: on Debian, `nvidia-driver` without them (checked with
    `apt-get -s` on bookworm) leaves out linux-headers-amd64 (dkms only recommends the
    headers, so the module would not build), nvidia-smi, libcuda1 (what CUDA containers load
    through the toolkit), libnvidia-cfg1 and nvidia-persistenced; the Debian wiki installs it
    with recommends too. Pass recommends=False for a set that names all it needs.
    """
    if not packages:
        raise ValueError("no packages to install")
    no_recommends = () if recommends else ("--no-install-recommends",)
    return Step(
        id=step_id,
        title=title,
        layer=layer,
        argv=(*INSTALL_ENV, "apt-get", "install", "-y", *DPKG_OPTIONS, *no_recommends, *packages),
        skip_if=installed_check(packages),
        verifies=verifies,
        why=why,
    )


def key_tools_step(layer: Layer) -> Step:
    """curl and gpg, which fetch and check a repository key (signed_repo.key_steps)."""
    return install_step(
        ["curl", "gpg", "ca-certificates"],
        step_id=f"{layer.value}.key-tools",
        title="Install curl and gpg (to fetch and check the repository key)",
        why="The key is downloaded with curl and checked with gpg before apt trusts it.",
        recommends=False,
        layer=layer,
        verifies=(),
    )


def hold_step(packages: Sequence[str]) -> Step:
    """Hold the installed driver packages (all of them: the simulated install lists them)."""
    if not packages:
        raise ValueError("no packages to hold")
    return Step(
        id="driver.hold-packages",
        title="Hold the driver packages at their installed version",
        layer=Layer.DRIVER,
        argv=("apt-mark", "hold", *packages),
        skip_if=held_check(packages),
        verifies=("driver.not-held",),
        why="An unattended upgrade of the libraries under the loaded kernel module ends in "
        '"Driver/library version mismatch" until a reboot; held packages wait for you.',
    )


def unattended_upgrades_blacklist_edit(existing_text: str | None) -> FileEdit:
    """/etc/apt/apt.conf.d/51gpuwiz-nvidia: unattended-upgrades leaves the driver alone.

    apt.conf lists add up across files, so this extends 50unattended-upgrades' own list; the
    unattended-upgrades service keeps running for everything else.
    """
    entries = "".join(f'    "{pattern}";\n' for pattern in UNATTENDED_UPGRADES_BLACKLIST)
    text = (
        "// Written by gpuwiz: unattended-upgrades must not upgrade the NVIDIA driver under a loaded\n"
        "// kernel module (Driver/library version mismatch). Python regexes matched against package\n"
        "// names from their start. Delete this file to undo.\n"
        "Unattended-Upgrade::Package-Blacklist {\n" + entries + "};\n"
    )
    return FileEdit(UNATTENDED_UPGRADES_PATH, text, old_text=existing_text)


def unattended_upgrades_step(edit: FileEdit) -> Step:
    return Step(
        id="driver.unattended-upgrades",
        title="Keep unattended-upgrades away from the driver packages",
        layer=Layer.DRIVER,
        edit=edit,
        why="A hold covers the packages installed today; this also covers ones a later upgrade would pull in.",
    )


def purge_steps(packages: Sequence[str]) -> tuple[Step, Step]:
    """Uninstall: purge the (installed) packages, then the dependencies nothing needs any more.

    `--allow-change-held-packages`: the packages are normally held (hold_step), and apt-get
    refuses to touch held packages under -y without it.
    """
    if not packages:
        raise ValueError("no packages to purge")
    purge = Step(
        id="driver.purge-packages",
        title="Remove the driver packages and their configuration",
        layer=Layer.DRIVER,
        argv=(*INSTALL_ENV, "apt-get", "purge", "-y", "--allow-change-held-packages", *DPKG_OPTIONS, *packages),
        why="purge, not remove: leftover conffiles (rc state) would come back with a later install.",
    )
    autoremove = Step(
        id="driver.autoremove",
        title="Remove the dependencies only the driver needed",
        layer=Layer.DRIVER,
        argv=(*INSTALL_ENV, "apt-get", "autoremove", "-y", *DPKG_OPTIONS),
        why="The driver pulled in dkms, kernel headers and libraries that nothing else uses.",
    )
    return purge, autoremove


# --- running apt on private lists ----------------------------------------------------------


def private_options(sources_list: str | None, lists_dir: str | None) -> tuple[str, ...]:
    """apt options to read `sources_list` only and keep lists in `lists_dir`.

    The package cache files are switched off too: apt would otherwise save a cache built from
    the private lists as /var/cache/apt/pkgcache.bin, the machine's own.
    """
    opts: list[str] = []
    if sources_list:
        opts += ["-o", f"Dir::Etc::SourceList={sources_list}", "-o", "Dir::Etc::SourceParts=/nonexistent"]
    if lists_dir:
        opts += ["-o", f"Dir::State::Lists={lists_dir}"]
    if opts:
        opts += ["-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache="]
    return tuple(opts)


@dataclass(frozen=True)
class ListsUpdate:
    argv: tuple[str, ...]
    returncode: int
    errors: tuple[str, ...] = ()  # "Err:" lines (with their reason) and "E:" lines
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        # apt-get update exits 0 when an index failed to download; its "Err:" lines tell
        return self.returncode == 0 and not self.errors


def parse_update_output(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(errors, warnings) from `apt-get update` output, stdout and stderr together."""
    errors: list[str] = []
    warnings: list[str] = []
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if line.startswith("Err:"):
            reason = lines[n + 1].strip() if n + 1 < len(lines) and lines[n + 1].startswith(" ") else ""
            errors.append(f"{line} ({reason})" if reason else line)
        elif line.startswith("E: "):
            errors.append(line[3:])
        elif line.startswith("W: "):
            warnings.append(line[3:])
    return tuple(errors), tuple(warnings)


def update_lists(host: Host, sources_list: str, lists_dir: str, *, timeout: float = APT_TIMEOUT) -> ListsUpdate:
    """`apt-get update` from `sources_list` into `lists_dir`; the machine's own lists stay as they are.

    Needs no root: apt wants `lists_dir/partial` to exist (as root it makes it itself, and
    when its `_apt` download user cannot reach the folder it warns and downloads as root).
    """
    partial = f"{lists_dir.rstrip('/')}/partial"
    made = host.run(["mkdir", "-p", partial])
    if not made.ok:
        return ListsUpdate(made.argv, made.returncode, (made.stderr.strip() or f"cannot create {partial}",))
    # -q: RealHost gives commands a terminal for stdout, where apt would draw progress bars
    argv = ("apt-get", "-q", *private_options(sources_list, lists_dir), "update")
    result = host.run(argv, timeout=timeout)
    errors, warnings = parse_update_output(result.stdout + "\n" + result.stderr)
    if result.returncode != 0 and not errors:
        errors = (result.stderr.strip() or f"apt-get update exited with {result.returncode}",)
    return ListsUpdate(argv, result.returncode, errors, warnings)


@dataclass(frozen=True)
class PlannedPackage:
    """One `Inst` line of `apt-get -s`: a package apt would install or upgrade."""

    name: str
    version: str
    arch: str
    origins: tuple[str, ...] = ()  # "Debian-Security:12/oldstable-security", …
    current: str | None = None  # the installed version an upgrade replaces

    @property
    def upgrade(self) -> bool:
        return self.current is not None


@dataclass(frozen=True)
class SimulatedInstall:
    argv: tuple[str, ...]
    returncode: int
    packages: tuple[PlannedPackage, ...] = ()
    removals: tuple[str, ...] = ()
    error: str | None = None  # apt's E: lines, one sentence each, joined
    missing: tuple[str, ...] = ()  # requested packages apt cannot locate or has no candidate for
    unmet: tuple[str, ...] = ()  # the "unmet dependencies" lines
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.error is None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.packages)

    def package(self, name: str) -> PlannedPackage | None:
        return next((p for p in self.packages if p.name == name), None)


_INST = re.compile(
    r"^Inst (?P<name>\S+) (?:\[(?P<current>[^\]]*)\] )?\((?P<version>\S+)(?: (?P<origins>.*?))? \[(?P<arch>[^\]]+)\]\)"
)
_REMV = re.compile(r"^Remv (?P<name>\S+)")
_NOT_LOCATED = re.compile(r"^Unable to locate package (?P<name>\S+)")
_NO_CANDIDATE = re.compile(r"^Package '(?P<name>[^']+)' has no installation candidate")


def parse_simulation(text: str, *, argv: tuple[str, ...] = (), returncode: int = 0) -> SimulatedInstall:
    """An `apt-get -s install` run from its output (stdout and stderr together) and exit status."""
    packages: list[PlannedPackage] = []
    removals: list[str] = []
    errors: list[str] = []
    missing: list[str] = []
    unmet: list[str] = []
    warnings: list[str] = []
    in_unmet = False
    for line in text.splitlines():
        if in_unmet and line.startswith(" "):
            unmet.append(line.strip())
            continue
        in_unmet = line.startswith("The following packages have unmet dependencies")
        if m := _INST.match(line):
            origins = tuple(o.strip() for o in (m["origins"] or "").split(",") if o.strip())
            packages.append(PlannedPackage(m["name"], m["version"], m["arch"], origins, m["current"]))
        elif m := _REMV.match(line):
            removals.append(m["name"])
        elif line.startswith("E: "):
            message = line[3:].strip()
            errors.append(message)
            if found := _NOT_LOCATED.match(message) or _NO_CANDIDATE.match(message):
                missing.append(found["name"])
        elif line.startswith("W: "):
            warnings.append(line[3:].strip())
    return SimulatedInstall(
        argv=argv,
        returncode=returncode,
        packages=tuple(packages),
        removals=tuple(removals),
        error="; ".join(errors) or None,
        missing=tuple(missing),
        unmet=tuple(unmet),
        warnings=tuple(warnings),
    )


def simulate_install(
    host: Host,
    packages: Sequence[str],
    *,
    sources_list: str | None = None,
    lists_dir: str | None = None,
    recommends: bool = True,
    timeout: float = APT_TIMEOUT,
) -> SimulatedInstall:
    """What `apt-get install PACKAGES` would do, from a real `apt-get -s` (no root, no lock).

    With `sources_list`/`lists_dir` apt reads those instead of the machine's own sources and
    lists (see update_lists); the installed packages are always the machine's.
    """
    if not packages:
        raise ValueError("no packages to simulate")
    no_recommends = () if recommends else ("--no-install-recommends",)
    argv = ("apt-get", "-s", "-q", *private_options(sources_list, lists_dir), *no_recommends, "install", *packages)
    result = host.run(argv, timeout=timeout)
    if result.not_found:
        return SimulatedInstall(argv, result.returncode, error="apt-get is not installed")
    simulated = parse_simulation(result.stdout + "\n" + result.stderr, argv=argv, returncode=result.returncode)
    if not result.ok and simulated.error is None:  # killed by the timeout, say
        return replace(simulated, error=result.stderr.strip() or f"apt-get exited with {result.returncode}")
    return simulated
