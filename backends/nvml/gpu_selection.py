"""Which GPUs the monitor shows: `--only 0,3`, or the GPUs in CUDA_VISIBLE_DEVICES (`--only-visible`).

Entries are NVML indexes or UUIDs (GPU-…, MIG-…, or a unique prefix of one), as CUDA_VISIBLE_DEVICES
takes them. Like CUDA, the list ends at its first entry that names no GPU. An index is NVML's, which
is PCI bus order: CUDA numbers the same way with CUDA_DEVICE_ORDER=PCI_BUS_ID (its default,
FASTEST_FIRST, can differ on a machine with different cards), so UUIDs are the exact spelling.
"""

from __future__ import annotations

from gpuwiz.backends.gpu_records import GpuRecord


def parse_gpu_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _match(entry: str, gpus: tuple[GpuRecord, ...]) -> int | None:
    if entry.isdigit():
        index = int(entry)
        return index if index < len(gpus) else None
    hits = {
        i
        for i, g in enumerate(gpus)
        if (g.uuid or "").startswith(entry) or any((m.uuid or "").startswith(entry) for m in g.mig_devices)
    }
    return hits.pop() if len(hits) == 1 else None


def selected_gpus(wanted: tuple[str, ...], gpus: tuple[GpuRecord, ...]) -> frozenset[int]:
    chosen: list[int] = []
    for entry in wanted:
        index = _match(entry, gpus)
        if index is None:
            break
        chosen.append(index)
    return frozenset(chosen)
