"""Probes read Facts through a Host and never change anything."""

from __future__ import annotations

from ..facts import MachineFacts
from ..host import Host
from .driver import probe_driver
from .hardware import probe_hardware
from .k8s import probe_k8s
from .packages import query_packages
from .runtime import probe_runtime
from .toolkit import probe_toolkit


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
