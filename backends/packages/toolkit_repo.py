"""NVIDIA's container toolkit repository: where it is, the key that signs it, the packages in it.

From NVIDIA's install guide (docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html)
and its repository (NVIDIA/libnvidia-container, gh-pages: stable/deb/nvidia-container-toolkit.list and
stable/rpm/nvidia-container-toolkit.repo).
"""

from __future__ import annotations

from gpuwiz.backends.packages.signed_repo import DnfRepo, RepoKey

REPO_HOST = "nvidia.github.io"
FINGERPRINT = "C95B321B61E88C1809C4F759DDCAE044F796ECB0"
KEY_URL = "https://nvidia.github.io/libnvidia-container/gpgkey"
KEY_SOURCE = "NVIDIA's key since 2017; NVIDIA/libnvidia-container issue #171"
APT_KEYRING = "/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg"
RPM_KEYRING = "/etc/pki/rpm-gpg/RPM-GPG-KEY-nvidia-container-toolkit"
APT_LIST = "/etc/apt/sources.list.d/nvidia-container-toolkit.list"
APT_URL = "https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH)"
DNF_BASEURL = "https://nvidia.github.io/libnvidia-container/stable/rpm/$basearch"
# The packages that move together; a chosen version pins all four (the install guide's list).
PACKAGES = (
    "nvidia-container-toolkit",
    "nvidia-container-toolkit-base",
    "libnvidia-container-tools",
    "libnvidia-container1",
)
VERSION_PATTERN = r"\d+\.\d+\.\d+(-\S+)?"


def apt_key() -> RepoKey:
    return RepoKey("nvidia-container-toolkit", KEY_URL, FINGERPRINT, APT_KEYRING, source=KEY_SOURCE)


def dnf_repo() -> DnfRepo:
    key = RepoKey("nvidia-container-toolkit", KEY_URL, FINGERPRINT, RPM_KEYRING, armored=True, source=KEY_SOURCE)
    return DnfRepo("nvidia-container-toolkit", "nvidia-container-toolkit", DNF_BASEURL, key, gpgcheck=False)
