"""FakeNvml: a `pynvml`-shaped binding that answers from an NvmlRecord (profile units → NVML's).

The sampler reads it exactly as it reads the real `pynvml` module; a profile only swaps the
binding underneath. It raises the real pynvml exception classes. For the monitor it can move
values over time (`motion=(seed, clock)`, see nvml_motion), lose a GPU, hide killed PIDs, and
play a driver's process API: by default the one the record's driver exports (`_v3` from R510,
`_v2` from R450, before that only the plain symbol); `process_api="v2"` or `"v1"` forces an older one.
A field the record leaves out (None) answers NotSupported; a call that answers several fields at
once (utilisation) answers the ones given, the others N/A, and NotSupported when none is given.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Callable

from gpuwiz.backends.gpu_records import (
    COMPUTE_MODE_NAMES,
    GpuRecord,
    MigDeviceRecord,
    NvmlRecord,
    driver_major,
    throttle_mask,
)
from gpuwiz.backends.nvml.motion import moved
from gpuwiz.backends.nvml.processes import NO_INSTANCE, VERSIONS

MIB = 2**20
PROCESSES_UTILIZATION_INFO_FROM = 550  # nvmlDeviceGetProcessesUtilizationInfo came with R550
_MODE_CODES = {v: k for k, v in COMPUTE_MODE_NAMES.items()}


class FakeNvml:
    def __init__(
        self,
        record: NvmlRecord | None,
        *,
        motion: tuple[int, Callable[[], float]] | None = None,
        process_api: str | None = None,
        hidden_pids: set[int] | None = None,
    ):
        import pynvml  # the real exception classes and constants; importing loads no library

        self._pynvml = pynvml
        self._record = record
        self._motion = motion
        self._frame: tuple[float, NvmlRecord] | None = None
        self._initialised = 0
        self.lost: set[int] = set()  # GPU indexes that answer GpuIsLost (tests, demos)
        self.hidden_pids = hidden_pids if hidden_pids is not None else set()
        self.calls: list[str] = []  # process-call names, for tests of the version fallback
        self.NVMLError = pynvml.NVMLError
        for name in dir(pynvml):
            if name.startswith("NVML_"):
                setattr(self, name, getattr(pynvml, name))
        if process_api is None:
            versions = exported_process_versions(record.driver_version if record else None)
        else:
            versions = VERSIONS[VERSIONS.index("_" + process_api) :]
        for kind in ("Compute", "Graphics"):
            for version in versions:
                setattr(self, f"nvmlDeviceGet{kind}RunningProcesses{version}", self._procs_fn(kind, version))
        if (driver_major(record.driver_version if record else None) or 0) >= PROCESSES_UTILIZATION_INFO_FROM:
            self.nvmlDeviceGetProcessesUtilizationInfo = self._process_utilization

    def _error(self, code: int) -> Exception:
        return self._pynvml.NVMLError(code)

    def _unsupported(self) -> Exception:
        return self._error(self._pynvml.NVML_ERROR_NOT_SUPPORTED)

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
        if self._motion is None:
            return self._record
        seed, clock = self._motion
        t = round(clock(), 1)  # one frame per tenth of a second: a sample's calls agree
        if self._frame is None or self._frame[0] != t:
            self._frame = (t, moved(self._record, t, seed))
        return self._frame[1]

    def _gpu(self, handle: Any) -> GpuRecord:
        if handle.index in self.lost:
            raise self._error(self._pynvml.NVML_ERROR_GPU_IS_LOST)
        return self._ready().gpus[handle.index]

    def _mig(self, handle: Any) -> MigDeviceRecord:
        return self._gpu(handle).mig_devices[handle.mig]

    def _field(self, handle: Any, name: str) -> Any:
        value = getattr(self._gpu(handle), name)
        if value is None:
            raise self._unsupported()
        return value

    def nvmlSystemGetDriverVersion(self) -> str:
        value = self._ready().driver_version
        if value is None:
            raise self._unsupported()
        return value

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        value = self._ready().cuda_driver_version
        if value is None:
            raise self._unsupported()
        return value

    def nvmlDeviceGetCount(self) -> int:
        return len(self._ready().gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any:
        if not 0 <= index < len(self._ready().gpus):
            raise self._error(self._pynvml.NVML_ERROR_INVALID_ARGUMENT)
        if index in self.lost:
            raise self._error(self._pynvml.NVML_ERROR_GPU_IS_LOST)
        return SimpleNamespace(index=index, mig=None)

    def nvmlDeviceGetName(self, h: Any) -> str:
        return self._mig(h).name if h.mig is not None else self._gpu(h).name

    def nvmlDeviceGetPciInfo(self, h: Any) -> Any:
        return SimpleNamespace(busId=self._gpu(h).pci_bus_id)

    def nvmlDeviceGetUUID(self, h: Any) -> str:
        if h.mig is not None:
            value = self._mig(h).uuid
            if value is None:
                raise self._unsupported()
            return value
        return self._field(h, "uuid")

    def nvmlDeviceGetSerial(self, h: Any) -> str:
        return self._field(h, "serial")

    def nvmlDeviceGetMinorNumber(self, h: Any) -> int:
        return self._field(h, "minor_number")

    def nvmlDeviceGetMemoryInfo(self, h: Any) -> Any:
        source: Any = self._mig(h) if h.mig is not None else self._gpu(h)
        if source.memory_used_mib is None:  # NVML answers total, used and free together or not at all
            raise self._unsupported()
        total, used = source.memory_total_mib * MIB, source.memory_used_mib * MIB
        return SimpleNamespace(total=total, used=used, free=total - used)

    def nvmlDeviceGetBAR1MemoryInfo(self, h: Any) -> Any:
        source: Any = self._mig(h) if h.mig is not None else self._gpu(h)
        if source.bar1_total_mib is None or source.bar1_used_mib is None:
            raise self._unsupported()
        total, used = source.bar1_total_mib * MIB, source.bar1_used_mib * MIB
        return SimpleNamespace(bar1Total=total, bar1Used=used, bar1Free=total - used)

    # GPU instances: a profile records each MIG device's engines; its GPU instance's profile ID is, in the
    # fake, its GPU instance ID, and profile index k answers the k-th GPU instance recorded.
    def nvmlDeviceGetGpuInstanceById(self, h: Any, gpu_instance_id: int) -> Any:
        if not any(m.gpu_instance_id == gpu_instance_id for m in self._gpu(h).mig_devices):
            raise self._error(self._pynvml.NVML_ERROR_NOT_FOUND)
        return SimpleNamespace(index=h.index, gi=gpu_instance_id)

    def nvmlGpuInstanceGetInfo(self, gi: Any) -> Any:
        return SimpleNamespace(id=gi.gi, profileId=gi.gi)

    def nvmlDeviceGetGpuInstanceProfileInfo(self, h: Any, profile: int, version: int = 2) -> Any:
        by_instance = {m.gpu_instance_id: m for m in self._gpu(h).mig_devices}
        ids = sorted(by_instance)
        if profile >= len(ids) or by_instance[ids[profile]].ce_count is None:
            raise self._unsupported()
        m = by_instance[ids[profile]]
        return SimpleNamespace(
            id=m.gpu_instance_id,
            copyEngineCount=m.ce_count,
            encoderCount=m.enc_count or 0,
            decoderCount=m.dec_count or 0,
            ofaCount=m.ofa_count or 0,
            jpegCount=m.jpg_count or 0,
        )

    def nvmlDeviceGetUtilizationRates(self, h: Any) -> Any:
        gpu = self._gpu(h)
        if gpu.utilization_gpu is None and gpu.utilization_memory is None:
            raise self._unsupported()
        # a profile built from nvidia-smi's table knows GPU-Util only: the other stays N/A, not 0
        return SimpleNamespace(gpu=gpu.utilization_gpu, memory=gpu.utilization_memory)

    def nvmlDeviceGetTemperature(self, h: Any, sensor: int) -> int:
        return self._field(h, "temperature_c")

    def nvmlDeviceGetTemperatureThreshold(self, h: Any, threshold: int) -> int:
        if threshold != self._pynvml.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN:
            raise self._unsupported()
        return self._field(h, "temperature_slowdown_c")

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
        return _MODE_CODES[self._field(h, "compute_mode")]

    def nvmlDeviceGetMigMode(self, h: Any) -> list[int]:
        value = int(self._field(h, "mig_mode"))
        return [value, value]

    def nvmlDeviceGetClockInfo(self, h: Any, clock: int) -> int:
        return self._field(h, "clocks_sm_mhz" if clock == self._pynvml.NVML_CLOCK_SM else "clocks_mem_mhz")

    def nvmlDeviceGetMaxClockInfo(self, h: Any, clock: int) -> int:
        return self._field(h, "clocks_max_sm_mhz" if clock == self._pynvml.NVML_CLOCK_SM else "clocks_max_mem_mhz")

    def nvmlDeviceGetEncoderUtilization(self, h: Any) -> list[int]:
        return [self._field(h, "encoder_util"), 167000]

    def nvmlDeviceGetDecoderUtilization(self, h: Any) -> list[int]:
        return [self._field(h, "decoder_util"), 167000]

    def nvmlDeviceGetPcieThroughput(self, h: Any, counter: int) -> int:
        tx = counter == self._pynvml.NVML_PCIE_UTIL_TX_BYTES
        return self._field(h, "pcie_tx_kbs" if tx else "pcie_rx_kbs")

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, h: Any) -> int:
        return throttle_mask(self._field(h, "throttle_reasons"))

    def nvmlDeviceGetMaxMigDeviceCount(self, h: Any) -> int:
        gpu = self._gpu(h)
        if not gpu.mig_mode:
            raise self._unsupported()
        return 7

    def nvmlDeviceGetMigDeviceHandleByIndex(self, h: Any, index: int) -> Any:
        if index >= len(self._gpu(h).mig_devices):
            raise self._error(self._pynvml.NVML_ERROR_NOT_FOUND)
        return SimpleNamespace(index=h.index, mig=index)

    def nvmlDeviceGetGpuInstanceId(self, h: Any) -> int:
        return self._mig(h).gpu_instance_id

    def nvmlDeviceGetComputeInstanceId(self, h: Any) -> int:
        return self._mig(h).compute_instance_id

    def nvmlDeviceGetAttributes(self, h: Any) -> Any:
        count = self._mig(h).sm_count if h.mig is not None else None
        if count is None:
            raise self._unsupported()
        return SimpleNamespace(multiprocessorCount=count)

    def nvmlDeviceGetProcessUtilization(self, h: Any, last_seen: int) -> list[Any]:
        return self._process_utilization(h, last_seen)

    def _process_utilization(self, h: Any, last_seen: int) -> list[Any]:
        """Per-process SM/memory/encoder/decoder shares of the last sample period. A GPU none of whose
        processes records sm_util answers NotSupported, as MIG-enabled GPUs do; one whose processes
        all ran nothing since `last_seen` answers NotFound, as the driver does."""
        self.calls.append("ProcessUtilization")
        gpu = self._gpu(h)
        if gpu.mig_mode or not any(p.sm_util is not None for p in gpu.processes):
            raise self._unsupported()
        stamp = int(self._motion[1]() * 1e6) if self._motion else 1
        samples = [
            SimpleNamespace(
                pid=p.pid,
                timeStamp=stamp,
                smUtil=p.sm_util,
                memUtil=p.mem_util or 0,
                encUtil=p.enc_util or 0,
                decUtil=p.dec_util or 0,
                jpgUtil=0,
                ofaUtil=0,
            )
            for p in gpu.processes
            if p.sm_util is not None and p.pid not in self.hidden_pids and stamp > last_seen
        ]
        if not samples:
            raise self._error(self._pynvml.NVML_ERROR_NOT_FOUND)
        return samples

    def _procs_fn(self, kind: str, version: str) -> Callable[[Any], list[Any]]:
        kinds = ("C", "C+G") if kind == "Compute" else ("G", "C+G")

        def running(h: Any) -> list[Any]:
            self.calls.append(f"{kind}{version}")
            out = []
            for p in self._gpu(h).processes:
                if p.type not in kinds or p.pid in self.hidden_pids:
                    continue
                used = None if p.used_memory_mib is None else p.used_memory_mib * MIB
                entry = SimpleNamespace(pid=p.pid, usedGpuMemory=used)
                if version != "_v1":
                    gi, ci = p.gpu_instance_id, p.compute_instance_id
                    entry.gpuInstanceId = NO_INSTANCE if gi is None else gi
                    entry.computeInstanceId = NO_INSTANCE if ci is None else ci
                out.append(entry)
            return out

        return running


def exported_process_versions(driver_version: str | None) -> tuple[str, ...]:
    """The running-processes symbols a driver's libnvidia-ml exports, newest first: `_v3` came with
    R510, `_v2` with R450 (CUDA 11.0), before that only the plain one. Unknown: the newest."""
    major = driver_major(driver_version)
    if major is None or major >= 510:
        return VERSIONS
    return VERSIONS[1:] if major >= 450 else VERSIONS[2:]


def _snake(name: str) -> str:
    """DriverNotLoaded -> Driver_Not_Loaded (NVML_ERROR_DRIVER_NOT_LOADED)."""
    out = ""
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out += "_"
        out += ch
    return out
