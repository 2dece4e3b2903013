"""Container toolkit checks: installed, one clean repository entry, driver libraries reachable."""

from __future__ import annotations

from ..facts import DriverFacts, ToolkitFacts
from ..findings import Finding, Layer, Status

L = Layer.TOOLKIT
STALE_LISTS = ("nvidia-docker.list", "libnvidia-container.list")


def check_toolkit(f: ToolkitFacts, driver: DriverFacts | None) -> list[Finding]:
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
                f"{len(f.nvidia_sources)} package source files point at nvidia.github.io; apt fails with 'Conflicting values set for option Signed-By'.",
                "Remove the stale lists: " + ", ".join(stale or f.nvidia_sources[1:]),
                f.nvidia_sources,
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
