"""Probes read Facts through a Host and never change anything."""

from __future__ import annotations

from gpuwiz.backends.facts import MachineFacts
from gpuwiz.backends.machine.host import Host
from gpuwiz.backends.probes.driver import probe_driver
from gpuwiz.backends.probes.hardware import probe_hardware
from gpuwiz.backends.probes.k8s import probe_k8s
from gpuwiz.backends.probes.packages import query_packages
from gpuwiz.backends.probes.runtime import probe_runtime
from gpuwiz.backends.probes.toolkit import probe_toolkit


def probe_all(host: Host, *, stop_without_gpu: bool = True) -> MachineFacts:
    """Every layer's facts. Without an NVIDIA GPU the layers above hardware are not probed
    (they cannot work and doctor skips them) unless `stop_without_gpu` is False (capture)."""
    hardware = probe_hardware(host)
    if stop_without_gpu and not hardware.nvidia_gpus:
        return MachineFacts(hardware)
    packages = query_packages(host)
    driver = probe_driver(host, packages, hardware)
    return MachineFacts(
        hardware,
        driver=driver,
        toolkit=probe_toolkit(host, packages, dict(driver.apt_sources + driver.dnf_repos)),
        runtime=probe_runtime(host),
        k8s=probe_k8s(host),
    )
