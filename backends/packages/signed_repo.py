"""NVIDIA's package repositories added the current way: a keyring checked against a published fingerprint.

The key is downloaded, de-armored into a keyring of its own, and `gpg --list-keys FINGERPRINT`
must find the fingerprint NVIDIA publishes (shipped here) before anything is installed: a
different key stops the plan there. Only that key is then exported to the keyring the source
entry names (`signed-by=` for apt, `gpgkey=file://` for dnf). `apt-key` is never used, and no
downloaded text is ever run.

The keyring and source paths are the ones NVIDIA's own instructions (and its `cuda-keyring`
package) use, so gpuwiz replaces an entry the user already has instead of adding a second one
with another Signed-By (apt refuses that: "Conflicting values set for option Signed-By").
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from enum import Enum

from gpuwiz.backends.findings import Layer
from gpuwiz.backends.machine.host import Host
from gpuwiz.backends.packages.openpgp import KeyringError, keyring_fingerprints
from gpuwiz.backends.runs.plan import FileEdit, Step

KEY_WORK_DIR = "/var/lib/gpuwiz/keys"  # downloads and gpg's home while checking; root only (0700)


@dataclass(frozen=True)
class RepoKey:
    name: str  # file-name stem of the download: "cuda-ubuntu2404"
    url: str
    fingerprint: str  # 40 upper-case hex digits, as NVIDIA publishes it
    keyring: str  # the file the source entry trusts
    armored: bool = False  # rpm wants ASCII armor; apt takes the binary keyring
    source: str = ""  # where the fingerprint is published


class KeyState(Enum):
    MISSING = "missing"
    OK = "ok"  # the keyring holds the published key
    OTHER = "other"  # a keyring is there without the published key (rotated, or not NVIDIA's)
    UNREADABLE = "unreadable"  # not an OpenPGP keyring


def key_state(host: Host, key: RepoKey) -> KeyState:
    data = host.read_bytes(key.keyring)
    if data is None:
        return KeyState.MISSING
    try:
        keys = keyring_fingerprints(data)
    except KeyringError:
        return KeyState.UNREADABLE
    return KeyState.OK if any(k.primary == key.fingerprint for k in keys) else KeyState.OTHER


def key_steps(key: RepoKey, *, layer: Layer, id_prefix: str, work_dir: str = KEY_WORK_DIR) -> list[Step]:
    """Download, check the fingerprint, install only that key. Needs curl and gpg."""
    download = posixpath.join(work_dir, f"{key.name}.download")
    checked = posixpath.join(work_dir, f"{key.name}.download.gpg")
    gpg = ("gpg", "--batch", "--homedir", work_dir, "--no-default-keyring", "--keyring", checked)
    armor = ("--armor",) if key.armored else ()
    return [
        Step(
            f"{id_prefix}.key-workdir",
            "Make a private directory to check the signing key in",
            layer,
            argv=("install", "-d", "-m", "0700", work_dir),
            why="gpg checks the key there with a home of its own; your and root's keyrings stay untouched.",
        ),
        Step(
            f"{id_prefix}.key-download",
            f"Download the repository signing key ({key.url})",
            layer,
            argv=("curl", "-fsSL", "--proto-redir", "=https", "-o", download, key.url),
            why="Only downloaded here; nothing trusts it before its fingerprint is checked.",
        ),
        Step(
            f"{id_prefix}.key-dearmor",
            "Turn the download into a keyring of its own",
            layer,
            argv=("gpg", "--batch", "--yes", "--dearmor", "-o", checked, download),
            why="A fresh keyring holding only what was downloaded, so the check below sees nothing else.",
        ),
        Step(
            f"{id_prefix}.key-check",
            f"Check the key's fingerprint is {key.fingerprint}",
            layer,
            argv=(*gpg, "--list-keys", key.fingerprint),
            why="The fingerprint NVIDIA publishes"
            + (f" ({key.source})" if key.source else "")
            + "; gpg fails here for any other key, and the plan stops before the key is trusted.",
        ),
        Step(
            f"{id_prefix}.key-dir",
            f"Make sure {posixpath.dirname(key.keyring)} exists",
            layer,
            argv=("install", "-d", "-m", "0755", posixpath.dirname(key.keyring)),
            why="The keyring's folder (an older release may lack it).",
        ),
        Step(
            f"{id_prefix}.key-install",
            f"Install the checked key as {key.keyring}",
            layer,
            argv=(*gpg, "--yes", *armor, "--output", key.keyring, "--export", key.fingerprint),
            why="Exported by fingerprint, so a second key hidden in the download is never trusted.",
        ),
    ]


HEADER = "# Written by gpuwiz: trusted through the signing key gpuwiz checked against its published fingerprint.\n"


def apt_source_edit(path: str, line: str, old_text: str | None) -> FileEdit:
    text = f"{HEADER}{line}\n"
    return FileEdit(path, text, old_text=old_text)


def apt_source_line(url: str, keyring: str, suite: str = "/", components: tuple[str, ...] = ()) -> str:
    """`deb [signed-by=KEYRING] URL SUITE [COMPONENTS]`; a flat repository has suite `/`."""
    return " ".join(("deb", f"[signed-by={keyring}]", url, suite, *components))


@dataclass(frozen=True)
class DnfRepo:
    repo_id: str
    name: str
    baseurl: str
    key: RepoKey
    file_name: str = ""  # default: the repo id; NVIDIA's own `.repo` files are named otherwise
    gpgcheck: bool = True  # packages signed (CUDA) or only the metadata (the container toolkit)

    @property
    def path(self) -> str:
        return f"/etc/yum.repos.d/{self.file_name or self.repo_id + '.repo'}"

    def text(self) -> str:
        return (
            HEADER + f"[{self.repo_id}]\n"
            f"name={self.name}\n"
            f"baseurl={self.baseurl}\n"
            "enabled=1\n"
            + ("gpgcheck=1\n" if self.gpgcheck else "repo_gpgcheck=1\ngpgcheck=0\n")
            + f"gpgkey=file://{self.key.keyring}\n"
        )


def dnf_repo_edit(repo: DnfRepo, old_text: str | None) -> FileEdit:
    return FileEdit(repo.path, repo.text(), old_text=old_text)
