"""Layers, statuses and Findings: what the checks say about a machine."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Layer(str, Enum):
    HARDWARE = "hardware"
    DRIVER = "driver"
    TOOLKIT = "toolkit"
    RUNTIME = "runtime"
    K8S = "k8s"

    @property
    def title(self) -> str:
        return LAYER_TITLES[self]


LAYER_TITLES = {
    Layer.HARDWARE: "Hardware",
    Layer.DRIVER: "Driver",
    Layer.TOOLKIT: "Container toolkit",
    Layer.RUNTIME: "Container runtime",
    Layer.K8S: "Kubernetes",
}
LAYERS: tuple[Layer, ...] = tuple(Layer)


class Status(str, Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


_SEVERITY = {Status.SKIP: 0, Status.OK: 1, Status.WARN: 2, Status.FAIL: 3}


@dataclass(frozen=True)
class Finding:
    """One verdict: a stable dotted id, a status, one human sentence and the fix."""

    id: str
    layer: Layer
    status: Status
    message: str
    fix: str | None = None
    evidence: tuple[str, ...] = ()


def worst(statuses: list[Status]) -> Status:
    """A layer's status: its worst finding; SKIP only when every finding is skipped."""
    if not statuses:
        return Status.SKIP
    return max(statuses, key=lambda s: _SEVERITY[s])
