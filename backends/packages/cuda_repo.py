"""NVIDIA's CUDA network repository as the driver's source, on apt (Ubuntu, Debian) and dnf (RHEL family).

Facts from NVIDIA's driver installation guide
(https://docs.nvidia.com/datacenter/tesla/driver-installation-guide/, pages kernel-modules.html and
version-locking.html), the CUDA installation guide for Linux
(https://docs.nvidia.com/cuda/cuda-installation-guide-linux/) and the repository itself
(https://developer.download.nvidia.com/compute/cuda/repos/), summarised here:
- repository `https://developer.download.nvidia.com/compute/cuda/repos/<distro>/<arch>/`, `<distro>`
  without a dot (ubuntu2404, debian12, rhel9), `<arch>` x86_64 or sbsa (arm64 servers); the deb
  repositories are flat (suite `/`);
- the keyring and list file are the ones `cuda-keyring` installs
  (`/usr/share/keyrings/cuda-archive-keyring.gpg`, `cuda-<distro>-<arch>.list`), so an existing
  entry is replaced rather than doubled;
- open modules: `nvidia-open`, proprietary: `cuda-drivers`; a branch is pinned with
  `nvidia-driver-pinning-<branch>` from R590 on, with `nvidia-open-<branch>` / `cuda-drivers-<branch>`
  before; RHEL 8/9 pick the branch with the `nvidia-driver:<branch>-open|-dkms` module stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpuwiz.backends.errors import InputError
from gpuwiz.backends.facts import DriverFacts, HardwareFacts
from gpuwiz.backends.findings import Layer
from gpuwiz.backends.machine.distro import is_rhel_like
from gpuwiz.backends.packages import apt
from gpuwiz.backends.packages.signed_repo import DnfRepo, RepoKey, apt_source_edit, apt_source_line, key_steps
from gpuwiz.backends.runs.plan import Step
from gpuwiz.backends.secure_boot import mok_steps

BASE_URL = "https://developer.download.nvidia.com/compute/cuda/repos"
APT_KEYRING = "/usr/share/keyrings/cuda-archive-keyring.gpg"
RPM_KEYRING = "/etc/pki/rpm-gpg/RPM-GPG-KEY-NVIDIA-CUDA"
PINNING_FROM = 590
# branches from here on are pinned with nvidia-driver-pinning-<branch>

# Signing key per repository directory: (key file, fingerprint, where it is published).
_SIGNATURES = "https://github.com/NVIDIA/cuda-repo-management/blob/main/SIGNATURES.md"
REPO_KEYS = {
    "ubuntu2204": ("3bf863cc.pub", "EB693B3035CD5710E231E123A4B469963BF863CC", _SIGNATURES),
    "ubuntu2404": ("3bf863cc.pub", "EB693B3035CD5710E231E123A4B469963BF863CC", _SIGNATURES),
    "debian12": ("3bf863cc.pub", "EB693B3035CD5710E231E123A4B469963BF863CC", _SIGNATURES),
    "rhel8": ("D42D0685.pub", "610C7B14E068A878070DA4E99CD0A493D42D0685", _SIGNATURES),
    "rhel9": ("D42D0685.pub", "610C7B14E068A878070DA4E99CD0A493D42D0685", _SIGNATURES),
}
# Not here on purpose: rhel10 (CDF6BA43.pub) and debian13 (8793F200.pub), whose fingerprints
# gpuwiz could not take from an NVIDIA publication; a key it cannot check it does not trust.
OPEN = "open"


@dataclass(frozen=True)
class CudaRepo:
    distro: str  # "ubuntu2404"
    arch: str  # "x86_64" | "sbsa"

    @property
    def url(self) -> str:
        return f"{BASE_URL}/{self.distro}/{self.arch}/"

    def key(self, *, armored: bool) -> RepoKey:
        name, fingerprint, source = REPO_KEYS[self.distro]
        return RepoKey(
            f"cuda-{self.distro}",
            self.url + name,
            fingerprint,
            RPM_KEYRING if armored else APT_KEYRING,
            armored=armored,
            source=source,
        )

    @property
    def list_path(self) -> str:
        return f"/etc/apt/sources.list.d/cuda-{self.distro}-{self.arch}.list"

    def dnf_repo(self) -> DnfRepo:
        """Section and file name as `dnf config-manager --add-repo …/cuda-rhel9.repo` leaves them."""
        repo_id = f"cuda-{self.distro}-{self.arch}"
        return DnfRepo(repo_id, repo_id, self.url.rstrip("/"), self.key(armored=True), f"cuda-{self.distro}.repo")


def repo_for(hw: HardwareFacts) -> CudaRepo | None:
    """NVIDIA's repository for this distribution and CPU, when gpuwiz can check its key."""
    if hw.os is None:
        return None
    arch = {"x86_64": "x86_64", "aarch64": "sbsa", "arm64": "sbsa"}.get(hw.arch or "")
    major = hw.os.version_id.split(".")[0]
    if hw.os.id == "ubuntu":
        distro = "ubuntu" + hw.os.version_id.replace(".", "")
    elif hw.os.id == "debian":
        distro = f"debian{major}"
    elif is_rhel_like(hw.os):
        distro = f"rhel{major}"
    else:
        return None
    if arch is None or distro not in REPO_KEYS:
        return None
    return CudaRepo(distro, arch)


def packages(branch: str, flavour: str) -> tuple[str | None, str]:
    """(pinning package or None, driver package) for apt."""
    meta = "nvidia-open" if flavour == OPEN else "cuda-drivers"
    if int(branch) >= PINNING_FROM:
        return f"nvidia-driver-pinning-{branch}", meta
    return None, f"{meta}-{branch}"


def no_repo_error(hw: HardwareFacts) -> InputError:
    where = hw.os.pretty_name if hw.os else "this system"
    return InputError(
        "choices",
        f"driver.method = cuda-repo: gpuwiz has no NVIDIA-published key fingerprint for the CUDA repository "
        f"of {where} ({hw.arch or 'unknown CPU'}), and it does not trust a key it cannot check",
    )


def apt_steps(hw: HardwareFacts, driver: DriverFacts, branch: str, flavour: str) -> list[Step]:
    repo = repo_for(hw)
    if repo is None:
        raise no_repo_error(hw)
    key = repo.key(armored=False)
    old = dict(driver.apt_sources).get(repo.list_path)
    pin, package = packages(branch, flavour)
    steps = [apt.key_tools_step(Layer.DRIVER), *key_steps(key, layer=Layer.DRIVER, id_prefix="driver")]
    steps.append(
        Step(
            "driver.cuda-repo-source",
            f"Add NVIDIA's CUDA repository for {repo.distro}",
            Layer.DRIVER,
            edit=apt_source_edit(repo.list_path, apt_source_line(repo.url, key.keyring), old),
            why="The file name and keyring cuda-keyring uses, so an earlier entry is replaced, never doubled.",
        )
    )
    steps.append(apt.update_step())
    if pin:
        steps.append(
            apt.install_step(
                [pin],
                step_id="driver.pin-branch",
                title=f"Pin the driver to branch R{branch}",
                why="NVIDIA's pinning package keeps apt on this branch; it must be installed before the driver.",
                verifies=(),
            )
        )
    why = f"R{branch} with the {flavour} kernel modules from NVIDIA's repository; DKMS builds the module."
    steps.append(
        apt.install_step([package], step_id="driver.install", title=f"Install the NVIDIA driver ({package})", why=why)
    )
    return steps + mok_steps(hw)
