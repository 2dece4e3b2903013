"""The apt backend: sources, Steps and apt-get's outputs, on real files (tests/data/apt/README.md)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gpuwiz.backends.errors import InputError
from gpuwiz.backends.findings import Layer
from gpuwiz.backends.machine.host import RC_NOT_FOUND, CommandResult, RealHost
from gpuwiz.backends.packages import apt
from gpuwiz.backends.parsers import parse_os_release
from gpuwiz.backends.runs.plan import Guard, Plan, Step, render_sh

DATA = Path(__file__).parent / "data" / "apt"
DEBIAN = "/etc/apt/sources.list.d/debian.sources"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def data(name: str) -> str:
    return (DATA / name).read_text()


def debian_sources() -> list[apt.AptSource]:
    return apt.parse_sources({DEBIAN: data("debian.sources")})


class FakeHost:
    """Answers run() from canned results by argv[0] and records every argv."""

    def __init__(self, results: dict[str, CommandResult]):
        self.results = results
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv, *, timeout=30.0, root=False, input=None):
        self.calls.append(tuple(argv))
        canned = self.results.get(argv[0])
        if canned is None:
            return CommandResult(tuple(argv), RC_NOT_FOUND, "", f"{argv[0]}: command not found")
        return replace(canned, argv=tuple(argv))


# --- sources ------------------------------------------------------------------------------------


def test_debian_deb822_file():
    sources = debian_sources()
    assert [(s.type, s.uri, s.suite, s.components, s.line) for s in sources] == [
        ("deb", "http://deb.debian.org/debian", "bookworm", ("main",), 1),
        ("deb", "http://deb.debian.org/debian", "bookworm-updates", ("main",), 1),
        ("deb", "http://deb.debian.org/debian-security", "bookworm-security", ("main",), 8),
    ]
    assert {s.signed_by for s in sources} == {KEYRING}
    assert all(s.enabled and not s.inline_key for s in sources)
    assert apt.components_enabled(sources, "bookworm") == {"main"}


def test_ubuntu_one_line_file():
    sources = apt.parse_sources({"/etc/apt/sources.list": data("ubuntu-22.04-cloud-init.list")})
    enabled = [s for s in sources if s.enabled]
    assert len(enabled) == 10 and {s.type for s in enabled} == {"deb"}
    # every "# deb-src …" line is a disabled entry; the prose comments are not entries
    assert len(sources) - len(enabled) == 10 and {s.type for s in sources if not s.enabled} == {"deb-src"}
    assert enabled[0] == apt.AptSource(
        "/etc/apt/sources.list",
        "deb",
        "http://nova.clouds.archive.ubuntu.com/ubuntu/",
        "jammy",
        ("main", "restricted"),
        line=11,
    )
    assert apt.components_enabled(sources, "jammy") == {"main", "restricted", "universe", "multiverse"}
    assert apt.components_enabled(sources, "jammy-security") == {"main", "restricted", "universe", "multiverse"}
    assert apt.nonfree_sources_edit(sources, "jammy", None) is None  # restricted is there already


def test_nvidia_toolkit_list_flat_repository_with_signed_by():
    path = "/etc/apt/sources.list.d/nvidia-container-toolkit.list"
    stable, experimental = apt.parse_sources({path: data("nvidia-container-toolkit.list")})
    keyring = "/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg"
    assert stable == apt.AptSource(
        path, "deb", "https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH)", "/", (), keyring, line=1
    )
    assert experimental.uri.endswith("/experimental/deb/$(ARCH)") and experimental.signed_by == keyring
    assert not experimental.enabled


def test_one_line_options_comments_and_cdrom():
    text = (
        "# deb cdrom:[Ubuntu 22.04 LTS _Jammy Jellyfish_ - Release amd64 (20220419)]/ jammy main restricted\n"
        "deb [ arch=amd64,i386 signed-by=/etc/apt/keyrings/docker.gpg ] https://download.docker.com/linux/ubuntu jammy stable # docker\n"
        "deb-src http://archive.ubuntu.com/ubuntu jammy main\n"
        "# Ordinary prose: debian is nice\n"
    )
    cdrom, docker, src = apt.parse_sources({"/etc/apt/sources.list": text})
    assert (cdrom.uri, cdrom.suite, cdrom.enabled) == (
        "cdrom:[Ubuntu 22.04 LTS _Jammy Jellyfish_ - Release amd64 (20220419)]/",
        "jammy",
        False,
    )
    assert docker.architectures == ("amd64", "i386") and docker.signed_by == "/etc/apt/keyrings/docker.gpg"
    assert docker.components == ("stable",)  # the trailing comment is dropped, as apt does
    assert src.type == "deb-src" and apt.components_enabled([src], "jammy") == set()


def test_deb822_several_values_disabled_stanza_and_inline_key():
    text = (
        "Types: deb deb-src\n"
        "URIs: http://archive.ubuntu.com/ubuntu/\n"
        "Suites: noble noble-updates\n"
        "Components: main restricted\n"
        "\n"
        "# switched off by the user\n"
        "Types: deb\n"
        "URIs: http://deb.debian.org/debian\n"
        "Suites: bookworm\n"
        "Components: non-free\n"
        "Enabled: no\n"
    )
    sources = apt.parse_sources({"/etc/apt/sources.list.d/x.sources": text})
    assert [(s.type, s.suite) for s in sources[:4]] == [
        ("deb", "noble"),
        ("deb", "noble-updates"),
        ("deb-src", "noble"),
        ("deb-src", "noble-updates"),
    ]
    assert sources[4].line == 7 and not sources[4].enabled
    assert apt.components_enabled(sources, "bookworm") == set()

    [inline] = apt.parse_sources({"/etc/apt/sources.list.d/inline.sources": data("inline-key.sources")})
    assert inline.inline_key
    assert inline.signed_by.splitlines()[:3] == [
        "-----BEGIN PGP PUBLIC KEY BLOCK-----",
        "",
        inline.signed_by.splitlines()[2],
    ]
    assert apt.render_deb822([inline]) == data("inline-key.sources")  # round trip, " ." included


@pytest.mark.parametrize(
    "path, text, line",
    [
        ("/etc/apt/sources.list", "deb http://deb.debian.org/debian bookworm main\ndeb http://x\n", 2),
        ("/etc/apt/sources.list", "rpm http://x bookworm main\n", 1),
        ("/etc/apt/sources.list.d/a.sources", "\nTypes: deb\nSuites: bookworm\nComponents: main\n", 2),
        ("/etc/apt/sources.list.d/a.sources", "Types: deb\nURIs: http://x\nSuites: x\n\n# c\nno field here\n", 6),
    ],
)
def test_malformed_entries_name_file_and_line(path, text, line):
    with pytest.raises(InputError) as caught:
        apt.parse_sources({path: text})
    assert caught.value.path == path and caught.value.line == line


def test_read_source_files_takes_what_apt_reads():
    class Files:
        def read_text(self, path):
            return {"/etc/apt/sources.list.d/debian.sources": "x", "/etc/apt/sources.list.d/a.list": "y"}.get(path)

        def list_dir(self, path):
            return ["a.list", "a.list.save", "debian.sources", "google.list.disabled-by-farm", "b c.list"]

    assert apt.read_source_files(Files()) == {
        "/etc/apt/sources.list.d/a.list": "y",
        "/etc/apt/sources.list.d/debian.sources": "x",
    }


# --- the non-free edit -----------------------------------------------------------------------


BOOKWORM_EDIT = (
    "# Written by gpuwiz: the apt components the NVIDIA driver needs (contrib non-free non-free-firmware),\n"
    "# added to the mirrors and suites your own sources use. Delete this file to undo.\n"
    "\n"
    "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n"
    "Components: contrib non-free non-free-firmware\n"
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    "\n"
    "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-updates\n"
    "Components: contrib non-free non-free-firmware\n"
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    "\n"
    "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n"
    "Components: contrib non-free non-free-firmware\n"
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
)


def test_bookworm_without_nonfree_gets_it():
    edit = apt.nonfree_sources_edit(debian_sources(), "bookworm", None)
    assert edit.path == "/etc/apt/sources.list.d/gpuwiz-nonfree.sources"
    assert edit.old_text is None and edit.new_text == BOOKWORM_EDIT
    step = apt.nonfree_sources_step(edit)
    assert step.edit is edit and step.layer is Layer.DRIVER and step.needs_root


def test_already_enabled_is_none():
    # by the system's own files…
    extra = {"/etc/apt/sources.list.d/nonfree.sources": BOOKWORM_EDIT}
    sources = apt.parse_sources({DEBIAN: data("debian.sources"), **extra})
    assert apt.nonfree_sources_edit(sources, "bookworm", None) is None
    # …or by our own file, written before: nothing changes
    ours = {apt.NONFREE_SOURCES_PATH: BOOKWORM_EDIT}
    sources = apt.parse_sources({DEBIAN: data("debian.sources"), **ours})
    assert apt.nonfree_sources_edit(sources, "bookworm", BOOKWORM_EDIT) is None


def test_adds_only_what_is_missing():
    # this machine: the CI script enabled contrib and non-free but not non-free-firmware
    sources = apt.parse_sources(
        {
            DEBIAN: data("debian.sources"),
            "/etc/apt/sources.list.d/gpuwiz-ci-nonfree.sources": data("gpuwiz-ci-nonfree.sources"),
        }
    )
    edit = apt.nonfree_sources_edit(sources, "bookworm", None)
    added = apt.parse_sources({edit.path: edit.new_text})
    assert [(s.suite, s.components) for s in added] == [
        ("bookworm", ("non-free-firmware",)),
        ("bookworm-updates", ("non-free-firmware",)),
        ("bookworm-security", ("non-free-firmware",)),
    ]


def test_bullseye_has_no_nonfree_firmware():
    bullseye = data("debian.sources").replace("bookworm", "bullseye")
    edit = apt.nonfree_sources_edit(apt.parse_sources({DEBIAN: bullseye}), "bullseye", None)
    assert {s.components for s in apt.parse_sources({edit.path: edit.new_text})} == {("contrib", "non-free")}


def test_ubuntu_without_restricted_gets_restricted_only():
    text = re.sub(r" restricted\b", "", data("ubuntu-22.04-cloud-init.list"))
    edit = apt.nonfree_sources_edit(apt.parse_sources({"/etc/apt/sources.list": text}), "jammy", None)
    added = apt.parse_sources({edit.path: edit.new_text})
    assert [(s.uri, s.suite, s.components, s.signed_by) for s in added] == [
        ("http://nova.clouds.archive.ubuntu.com/ubuntu/", "jammy", ("restricted",), None),
        ("http://nova.clouds.archive.ubuntu.com/ubuntu/", "jammy-updates", ("restricted",), None),
        ("http://security.ubuntu.com/ubuntu", "jammy-security", ("restricted",), None),
    ]  # not backports; universe and multiverse are not needed for the driver
    assert "(restricted)" in edit.new_text


def test_inline_key_is_copied():
    files = {"/etc/apt/sources.list.d/inline.sources": data("inline-key.sources")}
    edit = apt.nonfree_sources_edit(apt.parse_sources(files), "bookworm", None)
    [added] = apt.parse_sources({edit.path: edit.new_text})
    [original] = apt.parse_sources(files)
    assert added.signed_by == original.signed_by and added.components == ("contrib", "non-free", "non-free-firmware")


def test_own_file_emptied_when_system_sources_catch_up():
    full = data("debian.sources").replace("Components: main", "Components: main contrib non-free non-free-firmware")
    sources = apt.parse_sources({DEBIAN: full, apt.NONFREE_SOURCES_PATH: BOOKWORM_EDIT})
    edit = apt.nonfree_sources_edit(sources, "bookworm", BOOKWORM_EDIT)
    assert edit.old_text == BOOKWORM_EDIT
    assert apt.parse_sources({edit.path: edit.new_text}) == []
    assert edit.new_text.endswith("# Nothing to add: your own sources enable them all.\n")


def test_no_release_mirror_with_main_is_an_error():
    sources = apt.parse_sources({"/etc/apt/sources.list.d/n.list": data("nvidia-container-toolkit.list")})
    with pytest.raises(apt.AptSourcesError):
        apt.nonfree_sources_edit(sources, "bookworm", None)


# --- Steps --------------------------------------------------------------------------------------


def test_update_step():
    step = apt.update_step()
    assert step.argv == ("apt-get", "update") and step.needs_root and step.layer is Layer.DRIVER
    assert step.why and "\n" not in step.why


def test_install_step_argv_and_guard():
    step = apt.install_step(
        ["nvidia-driver", "firmware-misc-nonfree"],
        step_id="driver.install-packages",
        title="Install the NVIDIA driver",
        why="Debian's packaged driver, built for each kernel by DKMS.",
    )
    assert step.argv == (
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        "install",
        "-y",
        "-o",
        "DPkg::Lock::Timeout=300",
        "-o",
        "Dpkg::Options::=--force-confdef",
        "-o",
        "Dpkg::Options::=--force-confold",
        "-o",
        "APT::Status-Fd=1",
        "nvidia-driver",
        "firmware-misc-nonfree",
    )
    assert step.skip_if == Guard(
        ("dpkg-query", "-W", "-f", r"${db:Status-Status}\n", "nvidia-driver", "firmware-misc-nonfree"),
        every_line="installed",
    )
    assert (
        step.needs_root and step.verifies == ("driver.module", "driver.nvml") and step.id == "driver.install-packages"
    )
    lean = apt.install_step(["nvidia-driver"], step_id="x", title="x", why="x", recommends=False)
    assert lean.argv[-2:] == ("--no-install-recommends", "nvidia-driver")


def test_hold_step():
    step = apt.hold_step(["nvidia-driver", "libnvidia-ml1"])
    assert step.argv == ("apt-mark", "hold", "nvidia-driver", "libnvidia-ml1")
    assert step.skip_if == Guard(
        ("dpkg-query", "-W", "-f", r"${db:Status-Want} ${db:Status-Status}\n", "nvidia-driver", "libnvidia-ml1"),
        every_line="hold installed",
    )
    assert step.verifies == ("driver.not-held",) and "version mismatch" in step.why


def test_purge_steps():
    purge, autoremove = apt.purge_steps(["nvidia-driver", "nvidia-kernel-dkms"])
    assert purge.argv == (
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        "purge",
        "-y",
        "--allow-change-held-packages",
        *apt.DPKG_OPTIONS,
        "nvidia-driver",
        "nvidia-kernel-dkms",
    )
    assert autoremove.argv == (
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        "autoremove",
        "-y",
        *apt.DPKG_OPTIONS,
    )
    assert purge.needs_root and autoremove.needs_root


@pytest.mark.parametrize(
    "make", [apt.hold_step, apt.purge_steps, lambda p: apt.install_step(p, step_id="x", title="x", why="x")]
)
def test_steps_need_packages(make):
    with pytest.raises(ValueError):
        make([])


def test_unattended_upgrades_blacklist():
    edit = apt.unattended_upgrades_blacklist_edit("// old\n")
    assert edit.path == "/etc/apt/apt.conf.d/51gpuwiz-nvidia" and edit.old_text == "// old\n"
    assert "Unattended-Upgrade::Package-Blacklist {\n" in edit.new_text and edit.new_text.endswith("};\n")
    patterns = re.findall(r'^    "(.*)";$', edit.new_text, re.M)
    assert tuple(patterns) == apt.UNATTENDED_UPGRADES_BLACKLIST

    def blocked(name: str) -> bool:  # unattended-upgrades' own test: re.match per entry
        return any(re.match(p, name) for p in patterns)

    planned = apt.parse_simulation(data("apt-get-s-install-nvidia-driver.bookworm.txt")).names
    jammy = apt.parse_simulation(data("apt-get-s-install-nvidia-driver-535.jammy.txt")).names
    driver = [
        n for n in planned + jammy if re.search("nvidia|^libcuda|^libnvcuvid", n) and n != "glx-alternative-nvidia"
    ]
    assert len(driver) > 50 and all(blocked(n) for n in driver)
    for name in ("libnvidia-ml1", "linux-modules-nvidia-535-generic", "linux-signatures-nvidia-5.15.0-105-generic"):
        assert blocked(name)
    for name in ("nvidia-container-toolkit", "libnvidia-container1", "libnvidia-container-tools", "dkms", "libgtk-3-0"):
        assert not blocked(name)
    step = apt.unattended_upgrades_step(edit)
    assert step.edit is edit and step.needs_root


def _grep_has_pcre() -> bool:
    if shutil.which("grep") is None:
        return False
    return subprocess.run(["grep", "-Pzq", "x", "/dev/null"], capture_output=True).returncode == 1


@pytest.mark.skipif(not _grep_has_pcre(), reason="no grep with -P (PCRE)")
def _admin_dir(tmp_path: Path) -> Path:
    """A dpkg database (`--admindir`) whose status file holds dpkg's own states, as dpkg writes it."""
    stanza = (
        "Package: {}\n{}Status: {}\nPriority: optional\nMaintainer: x <x@example.invalid>\n"
        "Architecture: amd64\nVersion: 1.0-1\nDescription: x\n more text\n"
    )
    admin = tmp_path / "dpkg"
    admin.mkdir()
    (admin / "status").write_text(
        "\n".join(
            [
                stanza.format("bash", "Essential: yes\n", "install ok installed"),
                stanza.format("nvidia-driver", "", "deinstall ok config-files"),  # rc: removed, not purged
                stanza.format("nvidia-kernel-dkms", "", "install reinstreq half-installed"),
                stanza.format("libnvidia-ml1", "", "hold ok installed"),
                stanza.format("nvidia-driver-bin", "", "install ok unpacked"),
            ]
        )
    )
    return admin


def _with_admin_dir(guard: Guard, admin: Path) -> Guard:
    """The plans' guard reads the machine's database; the test points it at its own."""
    assert guard.argv[0] == "dpkg-query" and not any(a.startswith("--admindir") for a in guard.argv)
    return replace(guard, argv=(guard.argv[0], f"--admindir={admin}", *guard.argv[1:]))


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs dpkg-query")
def test_install_guard_with_real_dpkg_query(tmp_path):
    """The guards as the executor runs them, against dpkg's own states."""
    admin = _admin_dir(tmp_path)

    def holds(guard: Guard) -> bool:
        done = subprocess.run(_with_admin_dir(guard, admin).argv, capture_output=True, text=True)
        return guard.holds(done.returncode, done.stdout.splitlines() + done.stderr.splitlines())

    assert holds(apt.installed_check(["bash"]))
    assert holds(apt.installed_check(["bash", "libnvidia-ml1"]))
    for absent in ("nvidia-driver", "nvidia-kernel-dkms", "nvidia-driver-bin", "nvidia", "libnvidia-ml"):
        assert not holds(apt.installed_check(["bash", absent])), absent
    assert not holds(apt.installed_check(["nvidia-container-toolkit=1.17.8-1"]))  # a pinned install still runs
    assert holds(apt.held_check(["libnvidia-ml1"]))
    assert not holds(apt.held_check(["libnvidia-ml1", "bash"]))
    assert not holds(apt.held_check(["libnvidia-ml1", "nvidia"]))


@pytest.mark.skipif(shutil.which("dpkg-query") is None or shutil.which("bash") is None, reason="needs dpkg-query")
@pytest.mark.parametrize(
    "packages, skipped",
    [(["bash", "libnvidia-ml1"], True), (["bash", "nvidia-driver"], False), (["bash", "nvidia"], False)],
)
def test_install_guard_in_the_sh_script(tmp_path, packages, skipped):
    """`plan --format sh`'s guard (set -euo pipefail) against the same database."""
    guard = _with_admin_dir(apt.installed_check(packages), _admin_dir(tmp_path))
    marker = tmp_path / "ran"
    plan = Plan((Step("x", "x", Layer.DRIVER, argv=("touch", str(marker)), skip_if=guard, needs_root=False),))
    done = subprocess.run(["bash", "-c", render_sh(plan)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert marker.exists() is not skipped


# --- apt-get's outputs -------------------------------------------------------------------------


def test_parse_real_bookworm_simulation():
    result = apt.parse_simulation(data("apt-get-s-install-nvidia-driver.bookworm.txt"))
    packages = result.packages
    assert result.ok and len(packages) == 78 and result.removals == () and result.warnings == ()
    driver = next(p for p in packages if p.name == "nvidia-driver")
    assert driver == apt.PlannedPackage(
        "nvidia-driver", "535.309.01-0+deb12u1", "amd64", ("Debian-Security:12/oldstable-security",)
    )
    systemd = next(p for p in packages if p.name == "libsystemd0")
    assert systemd.upgrade and systemd.current == "252.38-1~deb12u1" and systemd.version == "252.39-1~deb12u2"
    names = {p.name for p in packages}
    assert {"nvidia-kernel-dkms", "libcuda1", "nvidia-smi", "firmware-nvidia-gsp", "linux-headers-amd64"} <= names


def test_parse_real_jammy_simulation_with_two_origins():
    packages = apt.parse_simulation(data("apt-get-s-install-nvidia-driver-535.jammy.txt")).packages
    assert len(packages) == 388
    driver = next(p for p in packages if p.name == "nvidia-driver-535")
    assert driver.origins == ("Ubuntu:22.04/jammy-updates", "Ubuntu:22.04/jammy-security")
    assert "nvidia-driver-580" in {p.name for p in packages}  # 535 is transitional to 580 now


@pytest.mark.parametrize(
    "name, error, missing",
    [
        (
            "apt-get-s-install-nvidia-driver.no-candidate.txt",
            "Package 'nvidia-driver' has no installation candidate",
            ("nvidia-driver",),
        ),
        ("apt-get-s-install.unable-to-locate.txt", "Unable to locate package nvidia-drivers", ("nvidia-drivers",)),
        ("apt-get-s-install-nvidia-driver.unmet.txt", "Unable to correct problems, you have held broken packages.", ()),
    ],
)
def test_simulate_install_errors(name, error, missing):
    host = FakeHost({"apt-get": CommandResult((), 100, data(name), "")})
    result = apt.simulate_install(host, ["nvidia-driver"])
    assert not result.ok and result.error == error and result.missing == missing and result.packages == ()
    if "unmet" in name:
        assert len(result.unmet) == 11
        assert (
            result.unmet[0]
            == "nvidia-driver : Depends: nvidia-driver-libs (= 535.261.03-1) but it is not going to be installed"
        )


def test_simulate_install_argv_and_result():
    host = FakeHost({"apt-get": CommandResult((), 0, data("apt-get-s-install-nvidia-driver.bookworm.txt"), "")})
    result = apt.simulate_install(host, ["nvidia-driver"], sources_list="/tmp/s.list", lists_dir="/tmp/lists")
    assert host.calls == [
        (
            "apt-get",
            "-s",
            "-q",
            "-o",
            "Dir::Etc::SourceList=/tmp/s.list",
            "-o",
            "Dir::Etc::SourceParts=/nonexistent",
            "-o",
            "Dir::State::Lists=/tmp/lists",
            "-o",
            "Dir::Cache::pkgcache=",
            "-o",
            "Dir::Cache::srcpkgcache=",
            "install",
            "nvidia-driver",
        )
    ]
    assert result.ok and result.argv == host.calls[0] and len(result.names) == 78
    assert result.package("nvidia-driver").version == "535.309.01-0+deb12u1"

    plain = FakeHost({"apt-get": CommandResult((), 0, "", "")})
    apt.simulate_install(plain, ["nvidia-driver"], recommends=False)
    assert plain.calls == [("apt-get", "-s", "-q", "--no-install-recommends", "install", "nvidia-driver")]

    missing = apt.simulate_install(FakeHost({}), ["nvidia-driver"])
    assert not missing.ok and missing.error == "apt-get is not installed"

    slow = FakeHost({"apt-get": CommandResult((), 124, "", "apt-get: timed out after 120 s")})
    assert apt.simulate_install(slow, ["nvidia-driver"]).error == "apt-get: timed out after 120 s"


def test_update_lists_reports_unreachable_mirror():
    host = FakeHost(
        {
            "mkdir": CommandResult((), 0),
            "apt-get": CommandResult((), 0, data("apt-get-update.unresolvable.txt"), ""),
        }
    )
    result = apt.update_lists(host, "/tmp/s.list", "/tmp/lists/")
    assert host.calls[0] == ("mkdir", "-p", "/tmp/lists/partial")
    assert host.calls[1] == ("apt-get", "-q", *apt.private_options("/tmp/s.list", "/tmp/lists/"), "update")
    assert result.returncode == 0 and not result.ok
    assert result.errors == (
        "Err:1 http://deb.debian.invalid/debian bookworm InRelease (Could not resolve 'deb.debian.invalid')",
    )
    assert (
        result.warnings[-1] == "Some index files failed to download. They have been ignored, or old ones used instead."
    )


# --- for real, on a Debian 12 machine ---------------------------------------------------------


def _snapshot(folder: str) -> dict[str, tuple[int, int]]:
    out = {".": (os.stat(folder).st_mtime_ns, 0)}
    for entry in os.scandir(folder):
        st = entry.stat(follow_symlinks=False)
        out[entry.name] = (st.st_mtime_ns, st.st_size)
    return out


def _bookworm() -> bool:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return False
    return parse_os_release(text).id == "debian" and "VERSION_CODENAME=bookworm" in text


def _reachable(uri: str, timeout: float = 5.0) -> bool:
    parts = urlsplit(uri)
    try:
        socket.create_connection(
            (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)), timeout
        ).close()
        return True
    except OSError:
        return False


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("apt-get") is None, reason="no apt-get")
@pytest.mark.skipif(not _bookworm() or not Path(DEBIAN).exists(), reason="needs Debian 12 with debian.sources")
def test_real_apt_plans_nvidia_driver_from_private_lists(tmp_path):
    host = RealHost()
    system = apt.parse_sources(apt.read_source_files(host))
    mirror = [s for s in system if s.path == DEBIAN and s.enabled and s.type == "deb"]
    if not _reachable(mirror[0].uri):
        pytest.skip(f"{mirror[0].uri} is not reachable")
    components = ("main", "contrib", "non-free", "non-free-firmware")
    private = [replace(s, components=components) for s in mirror if s.suite in apt.release_suites("bookworm")]
    assert {s.suite for s in private} == {"bookworm", "bookworm-updates", "bookworm-security"}
    sources = tmp_path / "private.sources"  # deb822, written by our own renderer
    sources.write_text(apt.render_deb822(private))
    lists = tmp_path / "lists"

    before = {d: _snapshot(d) for d in ("/var/lib/apt/lists", "/var/cache/apt")}
    started = time.monotonic()
    updated = apt.update_lists(host, str(sources), str(lists), timeout=45)
    if any(re.search("resolv|connect|timed out", e, re.I) for e in updated.errors):
        pytest.skip(f"Debian mirror unreachable: {updated.errors[0]}")
    assert updated.ok, updated
    assert any("_non-free_binary-" in name for name in os.listdir(lists))

    result = apt.simulate_install(host, ["nvidia-driver"], sources_list=str(sources), lists_dir=str(lists))
    assert result.ok, result.error
    names = set(result.names)
    assert {"nvidia-driver", "nvidia-kernel-dkms", "libcuda1"} <= names
    # libnvidia-ml1 is planned, unless it is installed already (the CI script installs it)
    guard = apt.installed_check(["libnvidia-ml1"])
    checked = host.run(guard.argv)
    nvml_installed = guard.holds(checked.returncode, (checked.stdout + checked.stderr).splitlines())
    assert "libnvidia-ml1" in names or nvml_installed
    assert result.package("nvidia-driver").version.startswith("535.")
    assert time.monotonic() - started < 60
    assert {d: _snapshot(d) for d in before} == before, "the machine's own apt lists or cache changed"
