"""Docker's own repository (Docker Engine, docker-ce), added the way Docker's install guide does.

docs.docker.com/engine/install/{ubuntu,debian,rhel}: the key at download.docker.com/linux/<distro>/gpg,
fingerprint 9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88 (Ubuntu, Debian) and
060A 61C5 1B55 8A7F 742B 77AA C52F EB6B 621E 9F35 (RHEL, CentOS, Fedora), as /etc/apt/keyrings/docker.asc
with `signed-by` in /etc/apt/sources.list.d/docker.list; the packages docker-ce, docker-ce-cli,
containerd.io, docker-buildx-plugin, docker-compose-plugin. Same paths as the guide, so an entry a user
already made is replaced, not doubled (apt refuses two Signed-By values for one source).
"""

from __future__ import annotations

from gpuwiz.backends.facts import HardwareFacts
from gpuwiz.backends.packages.signed_repo import DnfRepo, RepoKey

APT_FINGERPRINT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"
RPM_FINGERPRINT = "060A61C51B558A7F742B77AAC52FEB6B621E9F35"
APT_KEYRING = "/etc/apt/keyrings/docker.asc"
RPM_KEYRING = "/etc/pki/rpm-gpg/RPM-GPG-KEY-docker-ce"
APT_LIST = "/etc/apt/sources.list.d/docker.list"
PACKAGES = ("docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin")
SOURCE = "Docker's install guide, docs.docker.com/engine/install"
DEB_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf", "ppc64le": "ppc64el", "s390x": "s390x"}


def apt_key(distro: str) -> RepoKey:
    # armored: the guide's keyring is docker.asc, which apt reads as ASCII armor
    return RepoKey(
        "docker", f"https://download.docker.com/linux/{distro}/gpg", APT_FINGERPRINT, APT_KEYRING, True, SOURCE
    )


def apt_line(hw: HardwareFacts) -> str | None:
    if hw.os is None or hw.os.id not in ("ubuntu", "debian") or not hw.os.codename:
        return None
    arch = DEB_ARCH.get(hw.arch or "", "amd64")
    return (
        f"deb [arch={arch} signed-by={APT_KEYRING}] https://download.docker.com/linux/{hw.os.id} "
        f"{hw.os.codename} stable"
    )


def dnf_repo(distro: str = "rhel") -> DnfRepo:
    key = RepoKey(
        "docker-ce", f"https://download.docker.com/linux/{distro}/gpg", RPM_FINGERPRINT, RPM_KEYRING, True, SOURCE
    )
    return DnfRepo(
        "docker-ce-stable",
        "Docker CE Stable - $basearch",
        f"https://download.docker.com/linux/{distro}/$releasever/$basearch/stable",
        key,
        file_name="docker-ce.repo",
    )
