"""What each NVML start-up error means for the person at the terminal, and what to do."""

from __future__ import annotations

NVML_PROBLEMS: dict[str, tuple[str, str]] = {
    "LibraryNotFound": (
        "No NVIDIA driver: the NVML library (libnvidia-ml.so.1) is not installed.",
        "Install the driver: run `gpuwiz` and open the Driver layer, or `gpuwiz plan`.",
    ),
    "DriverNotLoaded": (
        "The NVIDIA kernel driver is not loaded: NVML is installed but cannot talk to a GPU.",
        "After a fresh install, reboot. Else `sudo modprobe nvidia`; if that fails, `gpuwiz doctor` "
        "names why (Secure Boot key not enrolled, headers missing for this kernel, nouveau loaded).",
    ),
    "LibRmVersionMismatch": (
        "Driver/library version mismatch: the driver packages were upgraded but the old kernel module is still loaded.",
        "Reboot (or unload the nvidia modules and load them again). `gpuwiz doctor` shows both versions.",
    ),
    "NoPermission": (
        "No permission to open the GPU device files (/dev/nvidia*).",
        "Check their mode (crw-rw-rw- by default) or run as a user in the group that owns them.",
    ),
    "GpuIsLost": (
        "A GPU fell off the bus (NVML: GPU is lost).",
        "Look for Xid 79 in `sudo dmesg`; check power and seating; a reboot brings it back.",
    ),
    "InsufficientPower": (
        "A GPU's external power cables are not connected properly.",
        "Connect the PCIe power connectors and restart.",
    ),
}


def nvml_problem(name: str) -> tuple[str, str]:
    """(what happened, the fix) for an NVML error name such as "DriverNotLoaded"."""
    return NVML_PROBLEMS.get(
        name, (f"NVML cannot start: {name}.", "`gpuwiz doctor` checks every layer below the GPUs.")
    )
