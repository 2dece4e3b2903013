"""Checks turn Facts into Findings (DIAGNOSTICS.md is the catalogue they recognise)."""

from __future__ import annotations

from gpuwiz.backends.checks.driver import check_driver
from gpuwiz.backends.checks.hardware import check_hardware
from gpuwiz.backends.checks.k8s import check_k8s
from gpuwiz.backends.checks.runtime import check_runtime
from gpuwiz.backends.checks.toolkit import check_toolkit
from gpuwiz.backends.facts import MachineFacts
from gpuwiz.backends.findings import LAYERS, Finding, Layer, Status


def skipped(layer: Layer, reason: str) -> Finding:
    return Finding(f"{layer.value}.skipped", layer, Status.SKIP, reason)


def check_all(facts: MachineFacts) -> dict[Layer, list[Finding]]:
    """Findings per layer, bottom up. Without an NVIDIA GPU the layers above are skipped."""
    out = {layer: [] for layer in LAYERS}
    out[Layer.HARDWARE] = check_hardware(facts.hardware)
    layers = (
        (Layer.DRIVER, facts.driver, lambda: check_driver(facts.driver, facts.hardware)),
        (Layer.TOOLKIT, facts.toolkit, lambda: check_toolkit(facts.toolkit, facts.driver, facts.runtime)),
        (Layer.RUNTIME, facts.runtime, lambda: check_runtime(facts.runtime, facts.k8s)),
        (Layer.K8S, facts.k8s, lambda: check_k8s(facts.k8s, facts.runtime)),
    )
    for layer, layer_facts, check in layers:
        if not facts.hardware.nvidia_gpus:
            out[layer] = [skipped(layer, "Skipped: no NVIDIA GPU was found, so nothing above the hardware can work.")]
        elif layer_facts is None:
            out[layer] = [skipped(layer, "Skipped: this layer was not probed.")]
        else:
            out[layer] = check()
    return out
