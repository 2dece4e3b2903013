"""NVIDIA's Xid catalogue, by class: what an `NVRM: Xid (PCI:…): N, …` kernel line means and whose fault it is.

From NVIDIA's "Xid Errors" document (docs.nvidia.com/deploy/xid-errors). Only the class decides the fix; the
meaning is one phrase for the finding's message. Xid 79 (fallen off the bus) is parsed as its own kernel fault.
"""

from __future__ import annotations

from dataclasses import dataclass

APPLICATION = "application"  # the application's own fault: the driver and the GPU are fine
MEMORY = "memory"  # ECC, page retirement, row remapping
NVLINK = "nvlink"
GSP = "gsp"  # the GPU System Processor's firmware stopped answering
TIMEOUT = "timeout"
BUS = "bus"
OTHER = "other"


@dataclass(frozen=True)
class XidInfo:
    code: int
    kind: str
    meaning: str
    severe: bool = True  # False: something was recorded or contained; the GPU keeps working


_CATALOGUE: dict[int, tuple[str, str, bool]] = {
    13: (APPLICATION, "graphics engine exception (an out-of-range access or illegal instruction in a kernel)", True),
    31: (APPLICATION, "GPU memory page fault (the application touched memory it does not own)", True),
    43: (APPLICATION, "the GPU stopped processing the application's channel (it faulted or was killed)", True),
    45: (APPLICATION, "preemptive cleanup of the application's channels after an earlier error", True),
    48: (MEMORY, "double-bit (uncorrectable) ECC error", True),
    63: (MEMORY, "ECC page retirement or row remapping was recorded", False),
    64: (MEMORY, "ECC page retirement or row remapping could not be recorded", True),
    74: (NVLINK, "NVLink error", True),
    79: (BUS, "the GPU fell off the bus", True),
    92: (MEMORY, "high single-bit ECC error rate", False),
    94: (MEMORY, "contained uncorrectable ECC error (the affected application was stopped)", False),
    95: (MEMORY, "uncontained uncorrectable ECC error", True),
    109: (TIMEOUT, "context switch timeout", True),
    119: (GSP, "GSP RPC timeout (the GSP firmware stopped answering the driver)", True),
    120: (GSP, "GSP error (the GSP firmware faulted)", True),
    **{code: (NVLINK, "NVLink error", True) for code in range(144, 151)},
}


def xid_info(code: int | str) -> XidInfo:
    try:
        number = int(code)
    except (TypeError, ValueError):
        return XidInfo(-1, OTHER, f"Xid {code}")
    kind, meaning, severe = _CATALOGUE.get(number, (OTHER, f"Xid {number}", True))
    return XidInfo(number, kind, meaning, severe)
