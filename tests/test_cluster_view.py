"""`monitor --prometheus URL`: every node's GPUs from a real Prometheus, grouped, at 80 columns."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from prometheus_servers import GPUWIZ, HAVE_PROMETHEUS, exporters, free_port, prometheus, wait_for_series

from gpuwiz.backends.prometheus.cluster import ClusterGpu, ClusterNode, ClusterSample, group_series
from gpuwiz.backends.prometheus.http_api import Series
from gpuwiz.cluster_view import ClusterOptions, render


def s(name: str, value: float, **labels: str) -> Series:
    return Series({"__name__": name, **labels}, value)


def dcgm(name: str, value: float, host: str, gpu: str, instance: str) -> Series:
    return s(name, value, Hostname=host, gpu=gpu, UUID=f"GPU-{host}-{gpu}", modelName="NVIDIA L4", instance=instance)


def test_series_grouped_by_hostname_with_gpus_in_nvml_order():
    series = [
        dcgm("DCGM_FI_DEV_GPU_UTIL", 30, "b", "10", "b:9400"),
        dcgm("DCGM_FI_DEV_GPU_UTIL", 70, "b", "2", "b:9400"),
        dcgm("DCGM_FI_DEV_FB_USED", 1000, "b", "2", "b:9400"),
        dcgm("DCGM_FI_DEV_FB_FREE", 3000, "b", "2", "b:9400"),
        dcgm("DCGM_FI_DEV_GPU_UTIL", 5, "a", "0", "a:9835"),
        s("up", 1, instance="a:9835", job="gpu"),
        s("up", 1, instance="localhost:9090", job="prometheus"),  # Prometheus itself: not a GPU node
        s("up", 0, instance="c:9835", job="gpu"),
    ]
    nodes = group_series(series)
    assert [n.name for n in nodes] == ["a", "b", "c:9835"]
    a, b, c = nodes
    assert [g.index for g in b.gpus] == ["2", "10"]
    assert b.gpus[0].fb_total == 4000 and b.gpus[1].fb_total is None  # dcgm-exporter serves no FB_TOTAL
    assert not a.down and c.down and c.gpus == ()


def reading(nodes=2, gpus=8) -> ClusterSample:
    made = tuple(
        ClusterNode(
            f"node-{n}",
            (f"10.0.0.{n}:9835",),
            tuple(
                ClusterGpu(
                    str(i), "NVIDIA H100 80GB HBM3", f"GPU-{n}-{i}", 10 * i, 8000 * i, 81559 - 8000 * i, 40 + i, 300 + i
                )
                for i in range(gpus)
            ),
        )
        for n in range(nodes)
    )
    return ClusterSample(
        "http://prometheus:9090", time.time(), (*made, ClusterNode("node-down", ("10.0.0.9:9835",), (), True))
    )


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("unicode", [True, False])
def test_fits_the_width_in_ascii_too(width, unicode):
    lines = render(reading(), ClusterOptions(width=width, unicode=unicode))
    assert all(len(line.plain) <= width for line in lines)
    if not unicode:
        assert all(line.plain.isascii() for line in lines)
    text = "\n".join(line.plain for line in lines)
    assert "node-0" in text and "node-1" in text and "scrape target DOWN" in text


def test_sorts_and_no_color_weights():
    r = reading()
    busiest = ClusterSample(r.url, r.wall_time, (ClusterNode("idle", (), (ClusterGpu("0", util=1),)), *r.nodes))
    names = [
        line.plain.split()[1]
        for line in render(busiest, ClusterOptions(width=80, sort="util"))
        if line.plain.startswith("──")
    ]
    assert names[0] == "node-0" and names[-1] == "node-down"
    down = next(line for line in render(r, ClusterOptions(width=80, no_color=True)) if "DOWN" in line.plain)
    assert any("reverse" in str(span.style) for span in down.spans)


def test_bad_url_is_a_usage_error():
    result = subprocess.run(
        [*GPUWIZ, "monitor", "--prometheus", "prometheus:9090", "--once"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and result.stderr.startswith("gpuwiz: error: --prometheus:")


def test_unreachable_prometheus_is_one_line_and_exit_1():
    result = subprocess.run(
        [*GPUWIZ, "monitor", "--prometheus", f"http://127.0.0.1:{free_port()}", "--once"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "cannot reach Prometheus" in result.stdout and "Traceback" not in result.stderr


@pytest.mark.skipif(not HAVE_PROMETHEUS, reason="prometheus is not installed (.ci/install-system-deps.sh)")
def test_both_nodes_from_a_real_prometheus(tmp_path):
    with exporters("dgx-h100x8", "homelab-ready") as started:
        targets = [f"127.0.0.1:{e.port}" for e in started.values()] + [f"127.0.0.1:{free_port()}"]  # one down
        with prometheus(targets, tmp_path) as url:
            assert len(wait_for_series(url, "DCGM_FI_DEV_FB_USED", 9)) == 9
            wait_for_series(url, "up == 0", 1)
            once = subprocess.run(
                [*GPUWIZ, "monitor", "--prometheus", url, "--once"], capture_output=True, text=True, timeout=60
            )
            doc = json.loads(
                subprocess.run(
                    [*GPUWIZ, "monitor", "--prometheus", url, "--json"], capture_output=True, text=True, timeout=60
                ).stdout
            )
    assert once.returncode == 0, once.stderr
    assert "── dgx-h100-01" in once.stdout and "── node3" in once.stdout and "scrape target DOWN" in once.stdout
    assert once.stdout.count("H100 80GB HBM3") == 8 and "RTX 3060" in once.stdout
    by_name = {n["name"]: n for n in doc["nodes"]}
    assert len(by_name["dgx-h100-01"]["gpus"]) == 8 and len(by_name["node3"]["gpus"]) == 1
    gpu = by_name["node3"]["gpus"][0]
    assert gpu["memory_total_mib"] == 12288 and gpu["name"] == "NVIDIA GeForce RTX 3060"
    assert [n for n in doc["nodes"] if n["down"]]


def fixed_wall_clock() -> float:
    return time.mktime((2026, 12, 2, 9, 30, 0, 0, 0, -1))


def cluster_app(unicode: bool = True):
    from gpuwiz.app import GpuwizApp
    from gpuwiz.backends.machine.profile_host import ProfileHost
    from gpuwiz.backends.machine.profiles import load_profile
    from gpuwiz.screens.cluster import ClusterConfig

    fixed = reading(nodes=2, gpus=4)
    fixed = ClusterSample(fixed.url, fixed_wall_clock(), fixed.nodes)
    config = ClusterConfig(url=fixed.url, unicode=unicode, read=lambda url, now: fixed, wall_clock=fixed_wall_clock)
    host = ProfileHost(load_profile("homelab-ready", {"HOME": "/nonexistent"}))
    return GpuwizApp(host=host, monitor=config, ascii_only=not unicode)


async def shown(pilot) -> None:
    for _ in range(50):
        await pilot.pause()
        if "node-0" in "".join(line.plain for line in pilot.app.screen.query_one("#cluster-lines").lines):
            return


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_cluster_snapshot(snap_compare, size):
    assert snap_compare(cluster_app(), terminal_size=size, run_before=shown)


def test_cluster_snapshot_ascii_sorted(snap_compare):
    async def sort(pilot) -> None:
        await shown(pilot)
        await pilot.press("s")
        await pilot.pause()

    assert snap_compare(cluster_app(unicode=False), terminal_size=(80, 24), run_before=sort)


def test_cluster_keys():
    import asyncio

    async def go():
        app = cluster_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await shown(pilot)
            screen = pilot.app.screen
            await pilot.press("s")
            assert screen.options.sort == "util"
            await pilot.press("p")
            lines = "".join(line.plain for line in screen.query_one("#cluster-lines").lines)
            assert "PAUSED" in lines
            await pilot.press("question_mark")
            await pilot.pause()
            assert "sort the nodes" in str(pilot.app.screen.query_one("Static").render())
            await pilot.press("escape")
            await pilot.press("q")
        assert app.return_code in (0, None)

    asyncio.run(go())
