"""A profile's GPUs brought to life for the monitor: values wander around the recorded ones.

`moved(record, t, seed)` is a pure function of the time: the same seed and clock give the same
frame (snapshot tests), and every value stays inside the card's real limits — utilisation 0–100,
memory within the total, power under the enforced cap, temperature under the slowdown threshold,
clocks under their maximum. Some compute processes come and go (one in three, for a few seconds a minute).
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from functools import lru_cache

from gpuwiz.backends.gpu_records import GpuRecord, MigDeviceRecord, NvmlRecord


@lru_cache(maxsize=4096)
def _wave_shape(seed: int, key: str) -> tuple[float, float, float, float]:
    rng = random.Random(f"{seed}:{key}")
    return rng.uniform(20, 60), rng.uniform(5, 13), rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)


def _wave(seed: int, key: str, t: float) -> float:
    """A smooth value in [-1, 1]: two slow sines with phases and periods fixed by seed and key."""
    p1, p2, f1, f2 = _wave_shape(seed, key)
    return 0.7 * math.sin(2 * math.pi * t / p1 + f1) + 0.3 * math.sin(2 * math.pi * t / p2 + f2)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _int(value: int | None, seed: int, key: str, t: float, spread: float, low: float, high: float) -> int | None:
    if value is None:
        return None
    return round(_clamp(value + spread * _wave(seed, key, t), low, high))


@lru_cache(maxsize=4096)
def _presence(seed: int, key: str) -> tuple[float, float] | None:
    rng = random.Random(f"{seed}:{key}:presence")
    if rng.random() > 1 / 3:
        return None
    return rng.uniform(45, 75), rng.uniform(0, 75)


def present(seed: int, key: str, t: float) -> bool:
    """One process in three leaves for ~8 s of every ~60 s after the first 30 s; the others stay."""
    shape = _presence(seed, key)
    if shape is None or t < 30:
        return True
    period, phase = shape
    return (t + phase) % period > 8


def _gpu(gpu: GpuRecord, index: int, t: float, seed: int) -> GpuRecord:
    k = f"gpu{index}"
    busy = (gpu.utilization_gpu or 0) > 5
    util = _int(gpu.utilization_gpu, seed, k + "util", t, 12 if busy else 2, 0, 100)
    total = gpu.memory_total_mib
    memory = _int(gpu.memory_used_mib, seed, k + "mem", t, total * 0.03 if busy else 0, 0, total)
    temp_max = (gpu.temperature_slowdown_c or 95) - 3
    power = gpu.power_draw_w
    if power is not None:
        cap = gpu.power_limit_w or power
        power = round(_clamp(power + cap * (0.08 if busy else 0.01) * _wave(seed, k + "pwr", t), cap * 0.04, cap), 2)
    sm = gpu.clocks_sm_mhz
    if sm is not None and busy:
        sm = _int(sm, seed, k + "sm", t, 45, 0, gpu.clocks_max_sm_mhz or sm)
    procs = tuple(
        replace(p, used_memory_mib=_int(p.used_memory_mib, seed, f"{k}p{p.pid}", t, 64 if busy else 0, 0, total))
        for p in gpu.processes
        if p.type == "G" or present(seed, f"pid{p.pid}", t)  # a display server stays
    )
    migs = tuple(
        replace(m, memory_used_mib=_mig_memory(m, seed, f"{k}mig{j}", t)) for j, m in enumerate(gpu.mig_devices)
    )
    return replace(
        gpu,
        utilization_gpu=util,
        utilization_memory=_int(gpu.utilization_memory, seed, k + "mutil", t, 10 if busy else 1, 0, 100),
        memory_used_mib=memory,
        temperature_c=_int(gpu.temperature_c, seed, k + "temp", t, 3 if busy else 1, 20, temp_max),
        fan_percent=_int(gpu.fan_percent, seed, k + "fan", t, 4, 0, 100),
        power_draw_w=power,
        clocks_sm_mhz=sm,
        encoder_util=_int(gpu.encoder_util, seed, k + "enc", t, 5 if gpu.encoder_util else 0, 0, 100),
        decoder_util=_int(gpu.decoder_util, seed, k + "dec", t, 5 if gpu.decoder_util else 0, 0, 100),
        pcie_tx_kbs=_int(gpu.pcie_tx_kbs, seed, k + "tx", t, (gpu.pcie_tx_kbs or 0) * 0.3, 0, 64_000_000),
        pcie_rx_kbs=_int(gpu.pcie_rx_kbs, seed, k + "rx", t, (gpu.pcie_rx_kbs or 0) * 0.3, 0, 64_000_000),
        mig_devices=migs,
        processes=procs,
    )


def _mig_memory(m: MigDeviceRecord, seed: int, key: str, t: float) -> int | None:
    busy = (m.memory_used_mib or 0) > m.memory_total_mib * 0.05
    return _int(m.memory_used_mib, seed, key, t, m.memory_total_mib * 0.03 if busy else 0, 0, m.memory_total_mib)


def moved(record: NvmlRecord, t: float, seed: int) -> NvmlRecord:
    if record.init_error:
        return record
    return replace(record, gpus=tuple(_gpu(g, i, t, seed) for i, g in enumerate(record.gpus)))


def moved_cpu(cpu_percent: float, pid: int, t: float, seed: int) -> float:
    if cpu_percent <= 0:
        return cpu_percent
    return round(_clamp(cpu_percent * (1 + 0.25 * _wave(seed, f"cpu{pid}", t)), 0, 6400), 1)
