"""`gpuwiz exporter`: serve /metrics from the NVML sampler until SIGINT/SIGTERM.

Each scrape takes one sample (a lock keeps two scrapes from sampling at once; one closer than
min_interval_s apart reuses the last). NVML trouble is a metric (gpuwiz_nvml_up 0) and one log line
per change, never a dead endpoint: the sampler retries NVML by itself.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

from gpuwiz.backends.exporter.metrics import metric_families
from gpuwiz.backends.nvml.sample import MonitorSample

LOG = logging.getLogger("gpuwiz.exporter")
DEFAULT_LISTEN = "127.0.0.1:9835"  # nvidia_gpu_exporter's port; dcgm-exporter's is 9400


@dataclass(frozen=True)
class Listen:
    host: str
    port: int


def parse_listen(text: str) -> Listen:
    """HOST:PORT, [IPv6]:PORT or :PORT (all addresses); ValueError with what is wrong."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT (a port 1-65535)")
    host = host.removeprefix("[").removesuffix("]")
    return Listen(host or "0.0.0.0", int(port))


class SampleCollector(Collector):
    def __init__(self, sample: Callable[[], MonitorSample], *, min_interval_s: float = 0.5):
        self._sample = sample
        self._lock = threading.Lock()
        self._last: tuple[float, MonitorSample] | None = None
        self._min_interval_s = min_interval_s
        self._problem: str | None = None

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            now = time.monotonic()
            if self._last is None or now - self._last[0] >= self._min_interval_s:
                self._last = (now, self._sample())
            sample = self._last[1]
        if sample.problem != self._problem:
            if sample.problem:
                LOG.warning("NVML does not answer: %s (gpuwiz_nvml_up 0 until it does)", sample.problem)
            else:
                LOG.warning("NVML answers again")
            self._problem = sample.problem
        yield from metric_families(sample)


def registry_for(sample: Callable[[], MonitorSample]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SampleCollector(sample))
    return registry


def serve(listen: Listen, registry: CollectorRegistry, stop: threading.Event) -> None:
    """Serve until stop is set; OSError (address in use, no permission) goes to the caller."""
    from prometheus_client.exposition import start_http_server

    server, thread = start_http_server(listen.port, addr=listen.host, registry=registry)
    try:
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
