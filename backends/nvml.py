"""Reading NVML through a `pynvml`-shaped binding: the real module or `FakeNvml`.

`read_nvml` is the one code path for both; a profile only swaps the binding underneath.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from types import SimpleNamespace
from typing import Any, Callable, TypeVar

from .gpu_records import GpuProcessRecord, GpuRecord, NvmlRecord

T = TypeVar("T")
MIB = 2**20
COMPUTE_MODE_NAMES = {0: "Default", 1: "Exclusive_Thread", 2: "Prohibited", 3: "Exclusive_Process"}


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def error_name(exc: BaseException) -> str:
    """NVML's error name: NVMLError_DriverNotLoaded -> "DriverNotLoaded"."""
    cls = type(exc).__name__
    if cls.startswith("NVMLError_"):
        return cls[len("NVMLError_") :]
    if cls == "NVMLLibraryMismatchError":
        return "LibRmVersionMismatch"
    return "Unknown"


def read_nvml(nvml: Any, *, with_processes: bool = True) -> NvmlRecord:
    """Initialise NVML, read every GPU once, shut down. Never raises for NVML's own errors."""
    try:
        nvml.nvmlInit()
    except Exception as exc:  # NVMLLibraryMismatchError is a plain Exception, not an NVMLError
        return NvmlRecord(init_error=error_name(exc))
    try:
        driver = _maybe(nvml, lambda: _text(nvml.nvmlSystemGetDriverVersion()))
        cuda = _maybe(nvml, nvml.nvmlSystemGetCudaDriverVersion)
        count = _maybe(nvml, nvml.nvmlDeviceGetCount) or 0
        gpus = tuple(_read_gpu(nvml, nvml.nvmlDeviceGetHandleByIndex(i), with_processes) for i in range(count))
        return NvmlRecord(None, driver, cuda, gpus)
    except nvml.NVMLError as exc:
        return NvmlRecord(init_error=error_name(exc))
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:
            pass


def _maybe(nvml: Any, fn: Callable[[], T]) -> T | None:
    try:
        return fn()
    except nvml.NVMLError:
        return None


def _read_gpu(nvml: Any, h: Any, with_processes: bool) -> GpuRecord:
    m = lambda fn: _maybe(nvml, fn)  # noqa: E731 - local shorthand
    memory = m(lambda: nvml.nvmlDeviceGetMemoryInfo(h))
    util = m(lambda: nvml.nvmlDeviceGetUtilizationRates(h))
    ecc = m(lambda: nvml.nvmlDeviceGetEccMode(h))
    mig = m(lambda: nvml.nvmlDeviceGetMigMode(h))
    power = m(lambda: nvml.nvmlDeviceGetPowerUsage(h))
    limit = m(lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(h))
    mode = m(lambda: nvml.nvmlDeviceGetComputeMode(h))
    record = GpuRecord(
        name=_text(nvml.nvmlDeviceGetName(h)),
        pci_bus_id=_text(nvml.nvmlDeviceGetPciInfo(h).busId),
        memory_total_mib=int(memory.total // MIB) if memory else 0,
        uuid=m(lambda: _text(nvml.nvmlDeviceGetUUID(h))),
        serial=m(lambda: _text(nvml.nvmlDeviceGetSerial(h))),
        minor_number=m(lambda: nvml.nvmlDeviceGetMinorNumber(h)),
        memory_used_mib=int(memory.used // MIB) if memory else None,
        utilization_gpu=util.gpu if util else None,
        utilization_memory=util.memory if util else None,
        temperature_c=m(lambda: nvml.nvmlDeviceGetTemperature(h, nvml.NVML_TEMPERATURE_GPU)),
        fan_percent=m(lambda: nvml.nvmlDeviceGetFanSpeed(h)),
        power_draw_w=power / 1000 if power is not None else None,
        power_limit_w=limit / 1000 if limit is not None else None,
        pstate=m(lambda: nvml.nvmlDeviceGetPerformanceState(h)),
        persistence_mode=_flag(m(lambda: nvml.nvmlDeviceGetPersistenceMode(h))),
        display_active=_flag(m(lambda: nvml.nvmlDeviceGetDisplayActive(h))),
        ecc_mode=_flag(ecc[0]) if ecc else None,
        ecc_uncorrected_volatile=m(
            lambda: nvml.nvmlDeviceGetTotalEccErrors(h, nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, nvml.NVML_VOLATILE_ECC)
        ),
        compute_mode=COMPUTE_MODE_NAMES.get(mode) if mode is not None else None,
        mig_mode=_flag(mig[0]) if mig else None,
        clocks_sm_mhz=m(lambda: nvml.nvmlDeviceGetClockInfo(h, nvml.NVML_CLOCK_SM)),
        clocks_mem_mhz=m(lambda: nvml.nvmlDeviceGetClockInfo(h, nvml.NVML_CLOCK_MEM)),
    )
    if not with_processes:
        return record
    return replace(record, processes=_read_processes(nvml, h))


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _read_processes(nvml: Any, h: Any) -> tuple[GpuProcessRecord, ...]:
    found: dict[int, GpuProcessRecord] = {}
    for kind, fn_name in (
        ("C", "nvmlDeviceGetComputeRunningProcesses"),
        ("G", "nvmlDeviceGetGraphicsRunningProcesses"),
    ):
        procs = _maybe(nvml, partial(getattr(nvml, fn_name), h)) or []
        for p in procs:
            used = getattr(p, "usedGpuMemory", None)
            mib = int(used // MIB) if isinstance(used, int) else None
            if p.pid in found:
                found[p.pid] = replace(found[p.pid], type="C+G")
            else:
                found[p.pid] = GpuProcessRecord(p.pid, kind, mib)
    return tuple(found.values())


class FakeNvml:
    """A `pynvml`-shaped binding answering from an NvmlRecord (profile units → NVML units)."""

    def __init__(self, record: NvmlRecord | None):
        import pynvml  # the real exception classes and constants; importing loads no library

        self._pynvml = pynvml
        self._record = record
        self._initialised = 0
        self.NVMLError = pynvml.NVMLError
        for name in dir(pynvml):
            if name.startswith("NVML_"):
                setattr(self, name, getattr(pynvml, name))

    def _error(self, code: int) -> Exception:
        return self._pynvml.NVMLError(code)

    def nvmlInit(self) -> None:
        if self._record is None:
            raise self._error(self._pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)
        if self._record.init_error:
            if self._record.init_error == "LibRmVersionMismatch":
                raise self._error(self._pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH)
            code = getattr(self._pynvml, "NVML_ERROR_" + _snake(self._record.init_error).upper())
            raise self._error(code)
        self._initialised += 1

    def nvmlShutdown(self) -> None:
        if not self._initialised:
            raise self._error(self._pynvml.NVML_ERROR_UNINITIALIZED)
        self._initialised -= 1

    def _ready(self) -> NvmlRecord:
        if not self._initialised or self._record is None:
            raise self._error(self._pynvml.NVML_ERROR_UNINITIALIZED)
        return self._record

    def _gpu(self, handle: Any) -> GpuRecord:
        return self._ready().gpus[handle.index]

    def _field(self, handle: Any, name: str) -> Any:
        value = getattr(self._gpu(handle), name)
        if value is None:
            raise self._error(self._pynvml.NVML_ERROR_NOT_SUPPORTED)
        return value

    def nvmlSystemGetDriverVersion(self) -> str:
        value = self._ready().driver_version
        if value is None:
            raise self._error(self._pynvml.NVML_ERROR_NOT_SUPPORTED)
        return value

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        value = self._ready().cuda_driver_version
        if value is None:
            raise self._error(self._pynvml.NVML_ERROR_NOT_SUPPORTED)
        return value

    def nvmlDeviceGetCount(self) -> int:
        return len(self._ready().gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any:
        if not 0 <= index < len(self._ready().gpus):
            raise self._error(self._pynvml.NVML_ERROR_INVALID_ARGUMENT)
        return SimpleNamespace(index=index)

    def nvmlDeviceGetName(self, h: Any) -> str:
        return self._gpu(h).name

    def nvmlDeviceGetPciInfo(self, h: Any) -> Any:
        return SimpleNamespace(busId=self._gpu(h).pci_bus_id)

    def nvmlDeviceGetUUID(self, h: Any) -> str:
        return self._field(h, "uuid")

    def nvmlDeviceGetSerial(self, h: Any) -> str:
        return self._field(h, "serial")

    def nvmlDeviceGetMinorNumber(self, h: Any) -> int:
        return self._field(h, "minor_number")

    def nvmlDeviceGetMemoryInfo(self, h: Any) -> Any:
        gpu = self._gpu(h)
        total = gpu.memory_total_mib * MIB
        used = (gpu.memory_used_mib or 0) * MIB
        return SimpleNamespace(total=total, used=used, free=total - used)

    def nvmlDeviceGetUtilizationRates(self, h: Any) -> Any:
        gpu = self._gpu(h)
        if gpu.utilization_gpu is None:
            raise self._error(self._pynvml.NVML_ERROR_NOT_SUPPORTED)
        return SimpleNamespace(gpu=gpu.utilization_gpu, memory=gpu.utilization_memory or 0)

    def nvmlDeviceGetTemperature(self, h: Any, sensor: int) -> int:
        return self._field(h, "temperature_c")

    def nvmlDeviceGetFanSpeed(self, h: Any) -> int:
        return self._field(h, "fan_percent")

    def nvmlDeviceGetPowerUsage(self, h: Any) -> int:
        return round(self._field(h, "power_draw_w") * 1000)

    def nvmlDeviceGetEnforcedPowerLimit(self, h: Any) -> int:
        return round(self._field(h, "power_limit_w") * 1000)

    def nvmlDeviceGetPerformanceState(self, h: Any) -> int:
        return self._field(h, "pstate")

    def nvmlDeviceGetPersistenceMode(self, h: Any) -> int:
        return int(self._field(h, "persistence_mode"))

    def nvmlDeviceGetDisplayActive(self, h: Any) -> int:
        return int(self._field(h, "display_active"))

    def nvmlDeviceGetEccMode(self, h: Any) -> list[int]:
        value = int(self._field(h, "ecc_mode"))
        return [value, value]

    def nvmlDeviceGetTotalEccErrors(self, h: Any, error_type: int, counter_type: int) -> int:
        return self._field(h, "ecc_uncorrected_volatile")

    def nvmlDeviceGetComputeMode(self, h: Any) -> int:
        name = self._field(h, "compute_mode")
        return {v: k for k, v in COMPUTE_MODE_NAMES.items()}[name]

    def nvmlDeviceGetMigMode(self, h: Any) -> list[int]:
        value = int(self._field(h, "mig_mode"))
        return [value, value]

    def nvmlDeviceGetClockInfo(self, h: Any, clock: int) -> int:
        return self._field(h, "clocks_sm_mhz" if clock == self._pynvml.NVML_CLOCK_SM else "clocks_mem_mhz")

    def _procs(self, h: Any, kinds: tuple[str, ...]) -> list[Any]:
        return [
            SimpleNamespace(pid=p.pid, usedGpuMemory=None if p.used_memory_mib is None else p.used_memory_mib * MIB)
            for p in self._gpu(h).processes
            if p.type in kinds
        ]

    def nvmlDeviceGetComputeRunningProcesses(self, h: Any) -> list[Any]:
        return self._procs(h, ("C", "C+G"))

    def nvmlDeviceGetGraphicsRunningProcesses(self, h: Any) -> list[Any]:
        return self._procs(h, ("G", "C+G"))


def _snake(name: str) -> str:
    """DriverNotLoaded -> Driver_Not_Loaded (NVML_ERROR_DRIVER_NOT_LOADED)."""
    out = ""
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out += "_"
        out += ch
    return out
