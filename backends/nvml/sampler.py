"""NvmlSampler: one NVML session read again and again, cheaply and without ever raising.

- one `nvmlInit` for the sampler's life; handles and static fields (name, bus id, memory total,
  max clocks, slowdown temperature, …) read once per session;
- a field NVML answers NotSupported (or FunctionNotFound: an older driver) is asked once and then
  never again for that GPU — a GeForce card is not asked for ECC every second;
- a GPU that falls off the bus (GpuIsLost) is marked lost, keeps its static fields, and the
  session is re-opened every `retry_s` until it answers again; a failed `nvmlInit` (no library,
  driver not loaded, version mismatch) is retried the same way, so the monitor recovers by itself;
- `NVMLLibraryMismatchError` is a plain `Exception` in nvidia-ml-py, not an `NVMLError`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from gpuwiz.backends.gpu_records import (
    COMPUTE_MODE_NAMES,
    GpuProcessRecord,
    GpuRecord,
    MigDeviceRecord,
    NvmlRecord,
    throttle_names,
)
from gpuwiz.backends.machine.processes import ProcessInfo
from gpuwiz.backends.nvml.processes import (
    ProcessUtilization,
    instance_id,
    memory_mib,
    process_call,
    process_utilization,
    versions_for,
)
from gpuwiz.backends.nvml.sample import GpuProcess, MonitorSample

MIB = 2**20
MIN_INTERVAL_S = 0.2  # NVML's power and utilisation are 1 s averages: faster shows nothing new


def error_name(exc: BaseException) -> str:
    """NVML's error name: NVMLError_DriverNotLoaded -> "DriverNotLoaded"."""
    cls = type(exc).__name__
    if cls.startswith("NVMLError_"):
        return cls[len("NVMLError_") :]
    if cls == "NVMLLibraryMismatchError":
        return "LibRmVersionMismatch"
    return "Unknown"


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class _GpuLost(Exception):
    pass


@dataclass
class _Gpu:
    """What one session knows about a GPU that does not change while it runs."""

    handle: Any
    static: GpuRecord
    unsupported: set[str] = field(default_factory=set)
    utilization_seen: int = 0  # NVML's timestamp of the newest per-process utilisation sample read
    engines: dict[int, tuple[int, int, int, int, int]] | None = None  # GPU instance profile ID -> its engines
    instance_engines: dict[int, tuple[int, int, int, int, int] | None] = field(default_factory=dict)  # by GI id


class NvmlSampler:
    def __init__(
        self,
        nvml: Any,
        *,
        process_info: Callable[[int], ProcessInfo | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        retry_s: float = 5.0,
        hostname: str = "",
    ):
        self.nvml = nvml
        self.process_info = process_info
        self.clock = clock
        self.wall_clock = wall_clock
        self.retry_s = retry_s
        self.hostname = hostname
        self._open = False
        self._error: str | None = None
        self._next_try = 0.0
        self._driver: str | None = None
        self._cuda: int | None = None
        self._gpus: list[_Gpu] = []
        self._lost: set[int] = set()
        self._process_versions: dict[str, str] = {}  # "Compute" -> the version that answered

    # --- session -----------------------------------------------------------------------------

    def _start(self) -> None:
        nvml = self.nvml
        try:
            nvml.nvmlInit()
        except Exception as exc:  # NVMLLibraryMismatchError is not an NVMLError
            self._error = error_name(exc)
            return
        self._open = True
        self._error = None
        try:
            self._driver = self._maybe(lambda: _text(nvml.nvmlSystemGetDriverVersion()))
            self._cuda = self._maybe(nvml.nvmlSystemGetCudaDriverVersion)
            count = nvml.nvmlDeviceGetCount()
            self._gpus = []
            self._lost = set()
            for i in range(count):
                try:
                    handle = nvml.nvmlDeviceGetHandleByIndex(i)
                    self._gpus.append(_Gpu(handle, self._read_static(handle)))
                except nvml.NVMLError:
                    # a GPU that is lost already at start keeps its place in the numbering
                    self._gpus.append(_Gpu(None, GpuRecord(name="(unavailable)", pci_bus_id="", memory_total_mib=0)))
                    self._lost.add(i)
        except Exception as exc:
            self._error = error_name(exc)
            self.close()

    def close(self) -> None:
        if self._open:
            self._open = False
            try:
                self.nvml.nvmlShutdown()
            except Exception:
                pass

    def _maybe(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except self.nvml.NVMLError:
            return None

    # --- reading -----------------------------------------------------------------------------

    def sample(self, *, with_processes: bool = True) -> MonitorSample:
        now = self.clock()
        if (not self._open or self._lost) and now >= self._next_try:
            self.close()
            self._start()
            self._next_try = now + self.retry_s
        if not self._open:
            record = NvmlRecord(init_error=self._error or "Unknown")
            return MonitorSample(self.wall_clock(), record, hostname=self.hostname)
        gpus: list[GpuRecord] = []
        procs: list[GpuProcess] = []
        for i, gpu in enumerate(self._gpus):
            if i in self._lost:
                gpus.append(gpu.static)
                continue
            try:
                record = self._read_dynamic(gpu)
                if with_processes:
                    record = replace(record, processes=self._read_processes(gpu))
            except _GpuLost:
                self._lost.add(i)
                self._next_try = now + self.retry_s
                gpus.append(gpu.static)
                continue
            gpus.append(record)
            for p in record.processes:
                info = self.process_info(p.pid) if self.process_info else None
                procs.append(GpuProcess(i, p, info))
        record = NvmlRecord(None, self._driver, self._cuda, tuple(gpus))
        return MonitorSample(self.wall_clock(), record, frozenset(self._lost), tuple(procs), self.hostname)

    def _field(self, gpu: _Gpu, name: str, fn: Callable[[], Any]) -> Any:
        if name in gpu.unsupported:
            return None
        nvml = self.nvml
        try:
            return fn()
        except nvml.NVMLError as exc:
            code = getattr(exc, "value", None)
            if code == nvml.NVML_ERROR_GPU_IS_LOST:
                raise _GpuLost from None
            if code in (nvml.NVML_ERROR_NOT_SUPPORTED, nvml.NVML_ERROR_FUNCTION_NOT_FOUND):
                gpu.unsupported.add(name)
            return None
        except AttributeError:  # an nvidia-ml-py without that call
            gpu.unsupported.add(name)
            return None

    def _read_static(self, h: Any) -> GpuRecord:
        nvml = self.nvml
        m = self._maybe
        memory = m(lambda: nvml.nvmlDeviceGetMemoryInfo(h))
        return GpuRecord(
            name=_text(nvml.nvmlDeviceGetName(h)),
            pci_bus_id=_text(nvml.nvmlDeviceGetPciInfo(h).busId),
            memory_total_mib=int(memory.total // MIB) if memory else 0,
            uuid=m(lambda: _text(nvml.nvmlDeviceGetUUID(h))),
            serial=m(lambda: _text(nvml.nvmlDeviceGetSerial(h))),
            minor_number=m(lambda: nvml.nvmlDeviceGetMinorNumber(h)),
            clocks_max_sm_mhz=m(lambda: nvml.nvmlDeviceGetMaxClockInfo(h, nvml.NVML_CLOCK_SM)),
            clocks_max_mem_mhz=m(lambda: nvml.nvmlDeviceGetMaxClockInfo(h, nvml.NVML_CLOCK_MEM)),
            temperature_slowdown_c=m(
                lambda: nvml.nvmlDeviceGetTemperatureThreshold(h, nvml.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN)
            ),
        )

    def _read_dynamic(self, gpu: _Gpu) -> GpuRecord:
        nvml, h = self.nvml, gpu.handle

        def f(name: str, fn: Callable[[], Any]) -> Any:
            return self._field(gpu, name, fn)

        memory = f("memory", lambda: nvml.nvmlDeviceGetMemoryInfo(h))
        util = f("utilization", lambda: nvml.nvmlDeviceGetUtilizationRates(h))
        ecc = f("ecc_mode", lambda: nvml.nvmlDeviceGetEccMode(h))
        mig = f("mig_mode", lambda: nvml.nvmlDeviceGetMigMode(h))
        power = f("power", lambda: nvml.nvmlDeviceGetPowerUsage(h))
        limit = f("power_limit", lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(h))
        mode = f("compute_mode", lambda: nvml.nvmlDeviceGetComputeMode(h))
        enc = f("encoder", lambda: nvml.nvmlDeviceGetEncoderUtilization(h))
        dec = f("decoder", lambda: nvml.nvmlDeviceGetDecoderUtilization(h))
        reasons = f("throttle", lambda: nvml.nvmlDeviceGetCurrentClocksThrottleReasons(h))
        bar1 = f("bar1", lambda: nvml.nvmlDeviceGetBAR1MemoryInfo(h))
        mig_on = bool(mig and mig[0])
        record = replace(
            gpu.static,
            memory_used_mib=int(memory.used // MIB) if memory else None,
            bar1_total_mib=int(bar1.bar1Total // MIB) if bar1 else None,
            bar1_used_mib=int(bar1.bar1Used // MIB) if bar1 else None,
            utilization_gpu=util.gpu if util else None,
            utilization_memory=util.memory if util else None,
            temperature_c=f("temperature", lambda: nvml.nvmlDeviceGetTemperature(h, nvml.NVML_TEMPERATURE_GPU)),
            fan_percent=f("fan", lambda: nvml.nvmlDeviceGetFanSpeed(h)),
            power_draw_w=power / 1000 if power is not None else None,
            power_limit_w=limit / 1000 if limit is not None else None,
            pstate=f("pstate", lambda: nvml.nvmlDeviceGetPerformanceState(h)),
            persistence_mode=_flag(f("persistence", lambda: nvml.nvmlDeviceGetPersistenceMode(h))),
            display_active=_flag(f("display", lambda: nvml.nvmlDeviceGetDisplayActive(h))),
            ecc_mode=_flag(ecc[0]) if ecc else None,
            ecc_uncorrected_volatile=f(
                "ecc_errors",
                lambda: nvml.nvmlDeviceGetTotalEccErrors(
                    h, nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, nvml.NVML_VOLATILE_ECC
                ),
            ),
            compute_mode=COMPUTE_MODE_NAMES.get(mode) if mode is not None else None,
            mig_mode=_flag(mig[0]) if mig else None,
            clocks_sm_mhz=f("clock_sm", lambda: nvml.nvmlDeviceGetClockInfo(h, nvml.NVML_CLOCK_SM)),
            clocks_mem_mhz=f("clock_mem", lambda: nvml.nvmlDeviceGetClockInfo(h, nvml.NVML_CLOCK_MEM)),
            encoder_util=enc[0] if enc else None,
            decoder_util=dec[0] if dec else None,
            pcie_tx_kbs=f("pcie_tx", lambda: nvml.nvmlDeviceGetPcieThroughput(h, nvml.NVML_PCIE_UTIL_TX_BYTES)),
            pcie_rx_kbs=f("pcie_rx", lambda: nvml.nvmlDeviceGetPcieThroughput(h, nvml.NVML_PCIE_UTIL_RX_BYTES)),
            throttle_reasons=throttle_names(reasons) if reasons is not None else None,
            mig_devices=self._read_mig(gpu) if mig_on else (),
        )
        return record

    def _read_mig(self, gpu: _Gpu) -> tuple[MigDeviceRecord, ...]:
        nvml, h = self.nvml, gpu.handle
        count = self._field(gpu, "mig_count", lambda: nvml.nvmlDeviceGetMaxMigDeviceCount(h)) or 0
        found = []
        for i in range(count):
            try:
                mh = nvml.nvmlDeviceGetMigDeviceHandleByIndex(h, i)
            except nvml.NVMLError as exc:
                if getattr(exc, "value", None) == nvml.NVML_ERROR_GPU_IS_LOST:
                    raise _GpuLost from None
                continue  # NotFound: no MIG device in that slot
            found.append(self._read_mig_device(gpu, mh))
        return tuple(found)

    def _engines(self, gpu: _Gpu) -> dict[int, tuple[int, int, int, int, int]]:
        """(CE, ENC, DEC, OFA, JPG) of each GPU instance profile, by profile ID: asked once a session."""
        if gpu.engines is None:
            nvml, gpu.engines = self.nvml, {}
            for index in range(getattr(nvml, "NVML_GPU_INSTANCE_PROFILE_COUNT", 0)):
                info = self._maybe(lambda i=index: nvml.nvmlDeviceGetGpuInstanceProfileInfo(gpu.handle, i))
                if info is not None:
                    counts = (info.copyEngineCount, info.encoderCount, info.decoderCount, info.ofaCount, info.jpegCount)
                    gpu.engines[info.id] = counts
        return gpu.engines

    def _read_mig_device(self, gpu: _Gpu, mh: Any) -> MigDeviceRecord:
        nvml, m = self.nvml, self._maybe
        memory = m(lambda: nvml.nvmlDeviceGetMemoryInfo(mh))
        attrs = m(lambda: nvml.nvmlDeviceGetAttributes(mh))
        bar1 = m(lambda: nvml.nvmlDeviceGetBAR1MemoryInfo(mh))
        gi_id = m(lambda: nvml.nvmlDeviceGetGpuInstanceId(mh)) or 0
        if gi_id not in gpu.instance_engines:  # a GPU instance keeps its profile: asked once a session
            gi = m(lambda: nvml.nvmlDeviceGetGpuInstanceById(gpu.handle, gi_id))
            info = m(lambda: nvml.nvmlGpuInstanceGetInfo(gi)) if gi is not None else None
            gpu.instance_engines[gi_id] = self._engines(gpu).get(info.profileId) if info is not None else None
        ce, enc, dec, ofa, jpg = gpu.instance_engines[gi_id] or (None,) * 5
        return MigDeviceRecord(
            bar1_total_mib=int(bar1.bar1Total // MIB) if bar1 else None,
            bar1_used_mib=int(bar1.bar1Used // MIB) if bar1 else None,
            ce_count=ce,
            enc_count=enc,
            dec_count=dec,
            ofa_count=ofa,
            jpg_count=jpg,
            gpu_instance_id=gi_id,
            compute_instance_id=m(lambda: nvml.nvmlDeviceGetComputeInstanceId(mh)) or 0,
            memory_total_mib=int(memory.total // MIB) if memory else 0,
            name=m(lambda: _text(nvml.nvmlDeviceGetName(mh))) or "",
            uuid=m(lambda: _text(nvml.nvmlDeviceGetUUID(mh))),
            memory_used_mib=int(memory.used // MIB) if memory else None,
            sm_count=getattr(attrs, "multiprocessorCount", None),
        )

    def _running(self, gpu: _Gpu, kind: str) -> list[Any]:
        nvml = self.nvml
        known = self._process_versions.get(kind)
        for version in (known,) if known else versions_for(self._driver):
            try:
                result = process_call(nvml, kind, version)(gpu.handle)
            except nvml.NVMLError as exc:
                code = getattr(exc, "value", None)
                if code == nvml.NVML_ERROR_FUNCTION_NOT_FOUND:
                    continue
                if code == nvml.NVML_ERROR_GPU_IS_LOST:
                    raise _GpuLost from None
                return []
            self._process_versions[kind] = version
            return list(result or [])
        return []

    def _read_processes(self, gpu: _Gpu) -> tuple[GpuProcessRecord, ...]:
        found: dict[int, GpuProcessRecord] = {}
        for kind, letter in (("Compute", "C"), ("Graphics", "G")):
            for p in self._running(gpu, kind):
                if p.pid in found:
                    found[p.pid] = replace(found[p.pid], type="C+G")
                    continue
                found[p.pid] = GpuProcessRecord(
                    p.pid,
                    letter,
                    memory_mib(getattr(p, "usedGpuMemory", None)),
                    instance_id(getattr(p, "gpuInstanceId", None)),
                    instance_id(getattr(p, "computeInstanceId", None)),
                )
        if found and "process_utilization" not in gpu.unsupported:
            shares, gpu.utilization_seen = process_utilization(self.nvml, gpu.handle, gpu.utilization_seen)
            if shares is None:
                gpu.unsupported.add("process_utilization")  # asked once a session, as other NotSupported fields
            else:
                none = ProcessUtilization(0, 0, 0, 0)
                for pid, record in found.items():
                    u = shares.get(pid, none)
                    found[pid] = replace(
                        record, sm_util=u.sm, mem_util=u.memory, enc_util=u.encoder, dec_util=u.decoder
                    )
        return tuple(found.values())


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def read_nvml(nvml: Any, *, with_processes: bool = True) -> NvmlRecord:
    """Initialise NVML, read every GPU once, shut down. Never raises for NVML's own errors."""
    sampler = NvmlSampler(nvml)
    try:
        return sampler.sample(with_processes=with_processes).nvml
    finally:
        sampler.close()
