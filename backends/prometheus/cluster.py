"""Every node's GPUs from the series a Prometheus holds: gpuwiz exporters or dcgm-exporter alike.

One instant query per refresh reads the few dcgm-exporter names both serve plus `up`; series are
grouped by their `Hostname` label (dcgm-exporter and gpuwiz set it to the node's name), else by
`instance`. A scrape target that is down shows as a node without GPUs, so a dead node is seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gpuwiz.backends.prometheus.http_api import Series, instant_query

METRICS = {
    "DCGM_FI_DEV_GPU_UTIL": "util",
    "DCGM_FI_DEV_FB_USED": "fb_used",
    "DCGM_FI_DEV_FB_FREE": "fb_free",
    "DCGM_FI_DEV_GPU_TEMP": "temp",
    "DCGM_FI_DEV_POWER_USAGE": "power",
    "gpuwiz_nvml_up": "nvml_up",
}
QUERY = '{__name__=~"' + "|".join(METRICS) + '"} or up'


@dataclass(frozen=True)
class ClusterGpu:
    index: str
    model: str = ""
    uuid: str = ""
    util: float | None = None
    fb_used: float | None = None  # MiB
    fb_free: float | None = None
    temp: float | None = None
    power: float | None = None

    @property
    def fb_total(self) -> float | None:
        return None if self.fb_used is None or self.fb_free is None else self.fb_used + self.fb_free


@dataclass(frozen=True)
class ClusterNode:
    name: str
    instances: tuple[str, ...] = ()
    gpus: tuple[ClusterGpu, ...] = ()
    down: bool = False  # its scrape target answers `up 0`
    nvml_error: bool = False  # a gpuwiz exporter whose NVML does not answer

    @property
    def busiest(self) -> float:
        return max((g.util or 0.0 for g in self.gpus), default=0.0)


@dataclass(frozen=True)
class ClusterSample:
    url: str
    wall_time: float
    nodes: tuple[ClusterNode, ...] = ()
    error: str | None = None  # Prometheus could not be read: nothing else is known

    @property
    def gpu_count(self) -> int:
        return sum(len(n.gpus) for n in self.nodes)


@dataclass
class _NodeParts:
    instances: set[str] = field(default_factory=set)
    gpus: dict[tuple[str, str], dict] = field(default_factory=dict)
    down: bool = False
    nvml_error: bool = False


def _index_key(index: str) -> tuple[int, str]:
    return (int(index), "") if index.isdigit() else (1 << 30, index)


def group_series(series: list[Series]) -> tuple[ClusterNode, ...]:
    """Pure: the query's series as nodes, each with its GPUs in NVML's order."""
    by_instance: dict[str, str] = {}
    for s in series:
        host = s.labels.get("Hostname")
        if host and s.labels.get("instance"):
            by_instance[s.labels["instance"]] = host
    nodes: dict[str, _NodeParts] = {}
    for s in series:
        name = s.labels.get("__name__", "")
        instance = s.labels.get("instance", "")
        node = s.labels.get("Hostname") or by_instance.get(instance) or instance or "?"
        parts = nodes.setdefault(node, _NodeParts())
        if instance:
            parts.instances.add(instance)
        if name == "up":
            parts.down = parts.down or s.value == 0
            continue
        if name == "gpuwiz_nvml_up":
            parts.nvml_error = parts.nvml_error or s.value == 0
            continue
        key = METRICS.get(name)
        if key is None or "gpu" not in s.labels:
            continue
        gpu = parts.gpus.setdefault((s.labels["gpu"], s.labels.get("UUID", "")), {})
        gpu[key] = s.value
        gpu.setdefault("model", s.labels.get("modelName", ""))
    out = []
    for name in sorted(nodes):
        parts = nodes[name]
        if not parts.gpus and not parts.down and not parts.nvml_error:
            continue  # a target that is no GPU exporter (Prometheus scraping itself, node-exporter)
        gpus = tuple(
            ClusterGpu(index=index, uuid=uuid, **values)
            for (index, uuid), values in sorted(parts.gpus.items(), key=lambda kv: _index_key(kv[0][0]))
        )
        out.append(ClusterNode(name, tuple(sorted(parts.instances)), gpus, parts.down, parts.nvml_error))
    return tuple(out)


def read_cluster(url: str, wall_time: float) -> ClusterSample:
    from gpuwiz.backends.prometheus.http_api import PrometheusError

    try:
        return ClusterSample(url, wall_time, group_series(instant_query(url, QUERY)))
    except PrometheusError as exc:
        return ClusterSample(url, wall_time, error=str(exc))
