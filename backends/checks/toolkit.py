"""Container toolkit checks: installed, one clean repository entry, driver libraries reachable."""

from __future__ import annotations

import re

from gpuwiz.backends.facts import DriverFacts, RuntimeFacts, ToolkitFacts
from gpuwiz.backends.findings import Finding, Layer, Status

L = Layer.TOOLKIT
STALE_LISTS = ("nvidia-docker.list", "libnvidia-container.list")


CONFIG_V3_SINCE = (1, 17, 4)  # first toolkit that reads containerd 2.x's config version 3


def version_tuple(text: str | None) -> tuple[int, ...] | None:
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", text or "")
    return tuple(int(x) for x in m.groups()) if m else None


def check_toolkit(f: ToolkitFacts, driver: DriverFacts | None, runtime: RuntimeFacts | None = None) -> list[Finding]:
    out: list[Finding] = []
    if f.ctk_path:
        out.append(
            Finding(
                "toolkit.installed",
                L,
                Status.OK,
                f"NVIDIA Container Toolkit {f.ctk_version or '(version unknown)'} is installed.",
            )
        )
    else:
        out.append(
            Finding(
                "toolkit.installed",
                L,
                Status.FAIL,
                "The NVIDIA Container Toolkit is not installed (no nvidia-ctk).",
                "Add NVIDIA's signed repository and install nvidia-container-toolkit: see `gpuwiz plan`.",
            )
        )
    stale = [s for s in f.nvidia_sources if s.endswith(STALE_LISTS)]
    if stale or len(f.nvidia_sources) > 1:
        out.append(
            Finding(
                "toolkit.stale-sources",
                L,
                Status.WARN,
                f"{len(f.nvidia_sources)} package source files point at nvidia.github.io; "
                + (
                    "dnf reads the same repository twice and warns on every run."
                    if all(s.endswith(".repo") for s in f.nvidia_sources)
                    else "apt fails with 'Conflicting values set for option Signed-By'."
                ),
                "Remove the stale lists: " + ", ".join(stale or f.nvidia_sources[1:]),
                f.nvidia_sources,
            )
        )
    if f.outdated_sources:
        rpm = all(s.endswith(".repo") for s in f.outdated_sources)
        out.append(
            Finding(
                "toolkit.outdated-source",
                L,
                Status.WARN,
                "A package source for the toolkit uses a URL of an older install guide; NVIDIA answers it with 404, "
                f"so {'dnf' if rpm else 'apt'} updates fail and the toolkit gets no updates.",
                f"Point it at NVIDIA's stable/{'rpm' if rpm else 'deb'} repository: see `gpuwiz plan`.",
                f.outdated_sources,
            )
        )
    if f.keyring in ("other", "unreadable"):
        out.append(
            Finding(
                "toolkit.repo-key",
                L,
                Status.WARN,
                "The toolkit's keyring does not hold NVIDIA's key (C95B321B…F796ECB0): apt will refuse the repository "
                "(NO_PUBKEY or 'not signed').",
                "Fetch the key again and check its fingerprint: see `gpuwiz plan`.",
            )
        )
    version = version_tuple(f.ctk_version)
    containerd = runtime.containerd if runtime else None
    if version and version < CONFIG_V3_SINCE and containerd and containerd.config_version == 3:
        out.append(
            Finding(
                "toolkit.too-old-for-containerd2",
                L,
                Status.FAIL,
                f"Toolkit {f.ctk_version} cannot read containerd 2's config version 3: "
                "containers fail with 'unsupported config version: 3'.",
                "Upgrade nvidia-container-toolkit to 1.17.4 or newer.",
                (f"{containerd.config_path}: version = 3",),
            )
        )
    if f.libnvidia_ml_cached is False and driver is not None and driver.packages:
        out.append(
            Finding(
                "toolkit.libnvidia-ml",
                L,
                Status.FAIL,
                "libnvidia-ml.so.1 is not in the linker cache: containers fail with 'load library failed: libnvidia-ml.so.1'.",
                "Install the driver's compute libraries (libnvidia-compute) and run ldconfig.",
                ("ldconfig -p lacks libnvidia-ml.so.1",),
            )
        )
    return out
