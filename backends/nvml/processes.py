"""Which running-processes call a driver answers correctly: `_v3`, `_v2` or the plain v1 symbol.

- Drivers before R510 have no `_v3` symbol (pynvml raises FunctionNotFound): fall back to `_v2`,
  and before R450 to the plain symbol, whose struct has only pid and memory (pynvml no longer
  ships a wrapper for it, so it is called through ctypes here).
- Drivers 535.43–535.86 export `_v3` with a larger struct (it carried `usedGpuCcProtectedMemory`)
  than every later driver and than nvidia-ml-py reads: the array is read with the wrong stride and
  PIDs and memory come out as garbage (nvitop PR #79, go-nvml issue #75). Those drivers still
  export `_v2` with its own struct, so they are asked through `_v2`.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass
from typing import Any, Callable

NOT_AVAILABLE = 0xFFFFFFFFFFFFFFFF  # NVML_VALUE_NOT_AVAILABLE_ulonglong: memory not reported
NO_INSTANCE = 0xFFFFFFFF  # gpuInstanceId / computeInstanceId of a process not on a MIG device
VERSIONS = ("_v3", "_v2", "_v1")


def broken_v3(driver_version: str | None) -> bool:
    """True for the 535.43–535.86 drivers whose `_v3` struct does not match nvidia-ml-py's."""
    m = re.match(r"(\d+)\.(\d+)", driver_version or "")
    return bool(m) and int(m.group(1)) == 535 and 43 <= int(m.group(2)) <= 86


class _ProcessInfoV1(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_uint), ("usedGpuMemory", ctypes.c_ulonglong)]


def _v1_call(nvml: Any, symbol: str, handle: Any) -> list[Any]:
    """The pre-R450 symbol through ctypes, the way pynvml calls the versioned ones."""
    fn = nvml._nvmlGetFunctionPointer(symbol)
    count = ctypes.c_uint(0)
    ret = fn(handle, ctypes.byref(count), None)
    if ret == nvml.NVML_SUCCESS:
        return []
    if ret != nvml.NVML_ERROR_INSUFFICIENT_SIZE:
        raise nvml.NVMLError(ret)
    count.value = count.value * 2 + 5
    array = (_ProcessInfoV1 * count.value)()
    ret = fn(handle, ctypes.byref(count), array)
    if ret != nvml.NVML_SUCCESS:
        raise nvml.NVMLError(ret)
    return [array[i] for i in range(count.value)]


def process_call(nvml: Any, kind: str, version: str) -> Callable[[Any], list[Any]]:
    """The binding's function for `nvmlDeviceGet{kind}RunningProcesses{version}`."""
    name = f"nvmlDeviceGet{kind}RunningProcesses"
    fn = getattr(nvml, name + version, None)
    if fn is not None:
        return fn
    if version == "_v1" and hasattr(nvml, "_nvmlGetFunctionPointer"):
        return lambda handle: _v1_call(nvml, name, handle)
    raise nvml.NVMLError(nvml.NVML_ERROR_FUNCTION_NOT_FOUND)


def versions_for(driver_version: str | None) -> tuple[str, ...]:
    return VERSIONS[1:] if broken_v3(driver_version) else VERSIONS


def memory_mib(value: Any) -> int | None:
    if not isinstance(value, int) or value == NOT_AVAILABLE:
        return None
    return value // 2**20


def instance_id(value: Any) -> int | None:
    return value if isinstance(value, int) and value != NO_INSTANCE else None


# Per-process utilisation: R550's nvmlDeviceGetProcessesUtilizationInfo first (the legacy call fails on
# some Blackwell boards: HAMi-core PR 218), then nvmlDeviceGetProcessUtilization (Maxwell and newer).
UTILIZATION_CALLS = ("nvmlDeviceGetProcessesUtilizationInfo", "nvmlDeviceGetProcessUtilization")


@dataclass(frozen=True)
class ProcessUtilization:
    sm: int
    memory: int
    encoder: int
    decoder: int


def process_utilization(nvml: Any, handle: Any, last_seen: int) -> tuple[dict[int, ProcessUtilization] | None, int]:
    """Each process's share of the GPU since `last_seen` (NVML's µs timestamp) and the newest timestamp.

    None: the GPU does not report it (NotSupported; MIG-enabled GPUs never do). A process with no sample
    ran nothing in the period (0 %). NVML answers NotFound when no process ran since `last_seen`, and
    pynvml raises its "Success" when there is no process at all: both mean no samples.
    """
    for name in UTILIZATION_CALLS:
        call = getattr(nvml, name, None)
        if call is None:
            continue
        try:
            samples = call(handle, last_seen)
        except nvml.NVMLError as exc:
            code = getattr(exc, "value", None)
            if code in (nvml.NVML_ERROR_NOT_FOUND, nvml.NVML_SUCCESS):
                return {}, last_seen
            if code in (nvml.NVML_ERROR_FUNCTION_NOT_FOUND, nvml.NVML_ERROR_NOT_SUPPORTED):
                continue
            return None, last_seen
        newest: dict[int, Any] = {}
        for s in samples:
            if s.pid not in newest or s.timeStamp > newest[s.pid].timeStamp:
                newest[s.pid] = s
        seen = max((s.timeStamp for s in samples), default=last_seen)
        return {pid: ProcessUtilization(s.smUtil, s.memUtil, s.encUtil, s.decUtil) for pid, s in newest.items()}, seen
    return None, last_seen
