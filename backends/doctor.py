"""`gpuwiz doctor`: probe, check, and report findings per layer (text and JSON format 1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpuwiz.backends import __version__
from gpuwiz.backends.checks import check_all
from gpuwiz.backends.facts import MachineFacts
from gpuwiz.backends.findings import LAYERS, Finding, Layer, Status, worst
from gpuwiz.backends.jsonable import to_jsonable
from gpuwiz.backends.machine.host import Host
from gpuwiz.backends.probes import probe_all

DOCTOR_FORMAT = 1


@dataclass(frozen=True)
class LayerReport:
    layer: Layer
    status: Status
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class DoctorReport:
    facts: MachineFacts
    layers: tuple[LayerReport, ...]

    @property
    def failed(self) -> bool:
        return any(r.status is Status.FAIL for r in self.layers)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def layer(self, layer: Layer) -> LayerReport:
        return next(r for r in self.layers if r.layer is layer)


def diagnose(facts: MachineFacts) -> DoctorReport:
    by_layer = check_all(facts)
    return DoctorReport(
        facts,
        tuple(
            LayerReport(layer, worst([f.status for f in by_layer[layer]]), tuple(by_layer[layer])) for layer in LAYERS
        ),
    )


def run_doctor(host: Host) -> DoctorReport:
    return diagnose(probe_all(host))


# Raw file texts the probes keep for the planners: not findings, and no business in a report.
PLANNER_INPUTS = {"driver": ("apt_sources", "dnf_repos"), "runtime": ("config_view",)}


def doctor_document(report: DoctorReport, *, profile: str | None) -> dict[str, Any]:
    """The `doctor --json` document (docs/doctor-json.md)."""
    facts = to_jsonable(report.facts)
    for layer, keys in PLANNER_INPUTS.items():
        for key in keys:
            if isinstance(facts.get(layer), dict):
                facts[layer].pop(key, None)
    counts = {s.value: 0 for s in Status}
    for r in report.layers:
        for f in r.findings:
            counts[f.status.value] += 1
    return {
        "format": DOCTOR_FORMAT,
        "gpuwiz_version": __version__,
        "profile": profile,
        "exit_code": report.exit_code,
        "summary": counts,
        "layers": [
            {
                "layer": r.layer.value,
                "title": r.layer.title,
                "status": r.status.value,
                "findings": [
                    {
                        "id": f.id,
                        "status": f.status.value,
                        "message": f.message,
                        "fix": f.fix,
                        "evidence": list(f.evidence),
                    }
                    for f in r.findings
                ],
                "facts": facts.get(r.layer.value),
            }
            for r in report.layers
        ],
    }
