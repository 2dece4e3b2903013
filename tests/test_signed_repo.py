"""Signed repositories for real: a key the test generates, a local apt repository it signs, and the
key steps run through the real gpg/curl, then a real `apt-get update` on private lists."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from gpuwiz.backends.findings import Layer
from gpuwiz.backends.machine.host import RealHost
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import decode_file_bytes, encode_file_bytes
from gpuwiz.backends.packages import apt
from gpuwiz.backends.packages.openpgp import KeyringError, keyring_fingerprints, normalise_fingerprint
from gpuwiz.backends.packages.signed_repo import (
    DnfRepo,
    KeyState,
    RepoKey,
    apt_source_edit,
    apt_source_line,
    dnf_repo_edit,
    key_state,
    key_steps,
)
from gpuwiz.backends.runs.plan import Step

needs_tools = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("gpg", "curl", "apt-get", "dpkg-deb", "dpkg-scanpackages")),
    reason="needs gpg, curl, apt-get, dpkg-deb and dpkg-scanpackages",
)


def gpg(home: Path, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["gpg", "--batch", "--homedir", str(home), *args], input=input, capture_output=True, check=True
    )


def make_key(home: Path, uid: str) -> str:
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    gpg(home, "--passphrase", "", "--quick-gen-key", uid, "rsa2048", "sign", "1d")
    out = gpg(home, "--with-colons", "--list-keys", uid).stdout.decode()
    return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))


def run_steps(host: RealHost, steps: list[Step]) -> list[tuple[str, int, str]]:
    """A minimal executor for the test: argv steps in order, stop at the first failure."""
    done = []
    for step in steps:
        assert step.argv is not None
        result = host.run(list(step.argv), timeout=60)
        done.append((step.id, result.returncode, result.stderr))
        if not result.ok:
            break
    return done


@pytest.fixture(scope="module")
def signed_repo(tmp_path_factory):
    """A flat apt repository under file:, InRelease signed by a key made for this test."""
    if not all(shutil.which(t) for t in ("gpg", "curl", "apt-get", "dpkg-deb", "dpkg-scanpackages")):
        pytest.skip("needs gpg, curl, apt-get, dpkg-deb and dpkg-scanpackages")
    root = tmp_path_factory.mktemp("repo")
    home = root / "signer"
    fpr = make_key(home, "gpuwiz test repository <repo@example.invalid>")
    other = make_key(home, "someone else <other@example.invalid>")
    pkg = root / "build" / "DEBIAN"
    pkg.mkdir(parents=True)
    (pkg / "control").write_text(
        "Package: gpuwiz-signed-test\nVersion: 1.0\nArchitecture: all\n"
        "Maintainer: gpuwiz <repo@example.invalid>\nDescription: test package\n"
    )
    repo = root / "repo"
    repo.mkdir()
    subprocess.run(
        ["dpkg-deb", "--build", str(root / "build"), str(repo / "gpuwiz-signed-test_1.0_all.deb")],
        check=True,
        capture_output=True,
    )
    packages = subprocess.run(["dpkg-scanpackages", "-m", "."], cwd=repo, capture_output=True, check=True).stdout
    (repo / "Packages").write_bytes(packages)
    digest = hashlib.sha256(packages).hexdigest()
    (repo / "Release").write_text(
        "Origin: gpuwiz-test\nLabel: gpuwiz-test\nArchitectures: all amd64 arm64\n"
        f"SHA256:\n {digest} {len(packages)} Packages\n"
    )
    gpg(home, "--local-user", fpr, "--clearsign", "-o", str(repo / "InRelease"), str(repo / "Release"))
    (root / "key.asc").write_bytes(gpg(home, "--armor", "--export", fpr).stdout)
    (root / "both.asc").write_bytes(gpg(home, "--armor", "--export", other, fpr).stdout)
    (root / "other.asc").write_bytes(gpg(home, "--armor", "--export", other).stdout)
    return root, fpr, other


@needs_tools
def test_key_steps_trust_only_the_published_key_and_apt_accepts_the_repository(signed_repo, tmp_path):
    root, fpr, other = signed_repo
    key = RepoKey("test", f"file://{root}/both.asc", fpr, str(tmp_path / "keyrings" / "test.gpg"))
    (tmp_path / "keyrings").mkdir()
    host = RealHost()
    assert key_state(host, key) is KeyState.MISSING
    done = run_steps(host, key_steps(key, layer=Layer.TOOLKIT, id_prefix="toolkit", work_dir=str(tmp_path / "w")))
    assert [(step_id, rc) for step_id, rc, _ in done] == [
        ("toolkit.key-workdir", 0),
        ("toolkit.key-download", 0),
        ("toolkit.key-dearmor", 0),
        ("toolkit.key-check", 0),
        ("toolkit.key-dir", 0),
        ("toolkit.key-install", 0),
    ]
    assert oct((tmp_path / "w").stat().st_mode & 0o777) == "0o700"
    # the download held two keys; only the checked one is trusted
    assert [k.primary for k in keyring_fingerprints(Path(key.keyring).read_bytes())] == [fpr]
    assert key_state(host, key) is KeyState.OK

    sources = tmp_path / "sources.list"
    edit = apt_source_edit(str(sources), apt_source_line(f"file:{root}/repo/", key.keyring), None)
    sources.write_text(edit.new_text)
    update = apt.update_lists(host, str(sources), str(tmp_path / "lists"))
    assert update.ok, update
    sim = apt.simulate_install(
        host, ["gpuwiz-signed-test"], sources_list=str(sources), lists_dir=str(tmp_path / "lists")
    )
    assert sim.ok and "gpuwiz-signed-test" in sim.names


@needs_tools
def test_a_key_with_another_fingerprint_stops_at_the_check_and_nothing_is_trusted(signed_repo, tmp_path):
    root, fpr, other = signed_repo
    key = RepoKey("test", f"file://{root}/other.asc", fpr, str(tmp_path / "test.gpg"))
    done = run_steps(RealHost(), key_steps(key, layer=Layer.DRIVER, id_prefix="driver", work_dir=str(tmp_path / "w")))
    assert done[-1][0] == "driver.key-check" and done[-1][1] != 0
    assert not Path(key.keyring).exists()


@needs_tools
def test_apt_refuses_the_repository_signed_by_another_key(signed_repo, tmp_path):
    root, fpr, other = signed_repo
    wrong = tmp_path / "wrong.gpg"
    wrong.write_bytes(
        subprocess.run(
            ["gpg", "--dearmor"], input=(root / "other.asc").read_bytes(), capture_output=True, check=True
        ).stdout
    )
    sources = tmp_path / "sources.list"
    sources.write_text(apt_source_line(f"file:{root}/repo/", str(wrong)) + "\n")
    update = apt.update_lists(RealHost(), str(sources), str(tmp_path / "lists"))
    assert not update.ok
    assert any("NO_PUBKEY" in e or "not signed" in e or "signature" in e.lower() for e in update.errors), update


@needs_tools
def test_armored_export_for_rpm(signed_repo, tmp_path):
    root, fpr, _ = signed_repo
    key = RepoKey("test", f"file://{root}/key.asc", fpr, str(tmp_path / "RPM-GPG-KEY-test"), armored=True)
    done = run_steps(RealHost(), key_steps(key, layer=Layer.DRIVER, id_prefix="driver", work_dir=str(tmp_path / "w")))
    assert all(rc == 0 for _, rc, _ in done)
    text = Path(key.keyring).read_text()
    assert text.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert key_state(RealHost(), key) is KeyState.OK


def test_dnf_repo_file():
    key = RepoKey("cuda-rhel9", "https://example.invalid/D42D0685.pub", "A" * 40, "/etc/pki/rpm-gpg/RPM-GPG-KEY-cuda")
    repo = DnfRepo("cuda-rhel9-x86_64", "cuda-rhel9-x86_64", "https://example.invalid/rhel9/x86_64", key)
    edit = dnf_repo_edit(repo, None)
    assert edit.path == "/etc/yum.repos.d/cuda-rhel9-x86_64.repo"
    assert "gpgcheck=1\n" in edit.new_text and "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-cuda\n" in edit.new_text


# --- fingerprints without gpg -------------------------------------------------------------------


@pytest.mark.skipif(not shutil.which("gpg"), reason="needs gpg")
def test_fingerprints_match_gpg_on_the_system_keyrings(tmp_path):
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    compared = 0
    paths = sorted(glob.glob("/usr/share/keyrings/*.gpg") + glob.glob("/etc/apt/trusted.gpg.d/*.asc"))
    if not paths:
        pytest.skip("no system keyrings here")
    for path in paths:
        out = subprocess.run(
            ["gpg", "--batch", "--homedir", str(home), "--show-keys", "--with-colons", path],
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C"},
        ).stdout
        want, after_pub = [], False
        for line in out.splitlines():
            if line.startswith("pub:"):
                after_pub = True
            elif line.startswith("fpr:") and after_pub:
                want.append(line.split(":")[9])
                after_pub = False
        if not want:
            continue  # gpg could not read it either
        assert [k.primary for k in keyring_fingerprints(Path(path).read_bytes())] == want, path
        compared += 1
    assert compared, "gpg read none of the system keyrings"


def test_not_a_keyring():
    with pytest.raises(KeyringError):
        keyring_fingerprints(b"<html>404 Not Found</html>")
    with pytest.raises(KeyringError):
        keyring_fingerprints(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP PUBLIC KEY BLOCK-----\n")


def test_normalise_fingerprint():
    assert normalise_fingerprint("eb69 3b30 35cd 5710 e231  e123 a4b4 6996 3bf8 63cc") == (
        "EB693B3035CD5710E231E123A4B469963BF863CC"
    )
    with pytest.raises(ValueError):
        normalise_fingerprint("3BF863CC")


def test_binary_files_in_profiles_round_trip():
    data = bytes(range(256))
    text = encode_file_bytes(data)
    assert text.startswith("base64:") and decode_file_bytes(text) == data
    assert encode_file_bytes(b"plain\n") == "plain\n"


def test_key_state_on_a_profile(profile_host):
    host: ProfileHost = profile_host("homelab-ready")
    key = RepoKey("x", "https://example.invalid/k", "A" * 40, "/usr/share/keyrings/none.gpg")
    assert key_state(host, key) is KeyState.MISSING
    host.write_text("/usr/share/keyrings/none.gpg", "garbage")
    assert key_state(host, key) is KeyState.UNREADABLE
    assert key_state(host, replace(key, keyring="/usr/share/keyrings/none.gpg")) is KeyState.UNREADABLE
