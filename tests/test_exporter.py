"""`gpuwiz exporter`: dcgm-exporter's names on every profile, a real HTTP endpoint, a real Prometheus."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_servers import (
    GPUWIZ,
    HAVE_PROMETHEUS,
    exporters,
    free_port,
    prometheus,
    query,
    wait_for,
    wait_for_series,
)

from gpuwiz.backends.exporter.dcgm_fields import GPU_FIELDS, GPU_LABELS
from gpuwiz.backends.exporter.http_server import parse_listen, registry_for
from gpuwiz.backends.exporter.metrics import metric_families
from gpuwiz.backends.machine.profiles import SHIPPED_DIR
from gpuwiz.backends.nvml.sampler import NvmlSampler

DATA = Path(__file__).parent / "data" / "dcgm-exporter"
PROFILES = sorted(p.stem for p in SHIPPED_DIR.glob("*.toml"))


def dcgm_defaults() -> dict[str, tuple[str, str]]:
    out = {}
    for line in (DATA / "default-counters.csv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, kind, text = (c.strip() for c in line.split(",", 2))
            out[name] = (kind, text)
    return out


def sample_of(profile_host, name):
    host = profile_host(name)
    return NvmlSampler(host.nvml(), process_info=host.process_info, hostname=name).sample()


def test_names_types_and_help_are_dcgm_exporters():
    defaults = dcgm_defaults()
    served = [f for f in GPU_FIELDS if f.name in defaults]
    assert len(served) >= 10
    for field in served:
        assert (field.kind, field.help) == defaults[field.name], field.name
    for field in GPU_FIELDS:
        assert field.name.startswith("DCGM_FI_DEV_")


@pytest.mark.parametrize("name", PROFILES)
def test_every_profile_exports(profile_host, name):
    sample = sample_of(profile_host, name)
    families = {f.name: f for f in metric_families(sample)}
    up = families["gpuwiz_nvml_up"].samples[0].value
    if sample.problem:
        assert up == 0
        assert families["gpuwiz_nvml_error"].samples[0].labels["error"] == sample.problem
        assert not any(n.startswith("DCGM_") for n in families)
        return
    assert up == 1
    gpus = sample.nvml.gpus
    used = families["DCGM_FI_DEV_FB_USED"].samples
    assert len(used) == sum(1 for i, g in enumerate(gpus) if g.memory_used_mib is not None and i not in sample.lost)
    for s in used:
        assert set(s.labels) == set(GPU_LABELS)
        gpu = gpus[int(s.labels["gpu"])]
        assert s.labels["modelName"] == gpu.name and s.labels["pci_bus_id"] == gpu.pci_bus_id
        assert s.labels["Hostname"] == name and s.value == gpu.memory_used_mib
    # NotSupported is left out, never 0
    for field in GPU_FIELDS:
        count = len(families[field.name].samples)
        assert count == sum(1 for i, g in enumerate(gpus) if i not in sample.lost and field.read(g) is not None)


def test_processes(profile_host):
    sample = sample_of(profile_host, "dgx-h100x8")
    families = {f.name: f for f in metric_families(sample)}
    processes = families["gpuwiz_process_fb_used"].samples
    assert len(processes) == len([p for p in sample.processes if p.record.used_memory_mib is not None]) > 30
    first = next(p for p in sample.processes if p.info)
    s = next(s for s in processes if s.labels["pid"] == str(first.record.pid))
    assert s.labels["user"] == first.info.user and s.labels["process_name"] == Path(first.info.cmdline[0]).name


def test_throttle_reasons(profile_host):
    sample = sample_of(profile_host, "a100-mig")
    reasons = metric_families(sample)
    samples = next(f for f in reasons if f.name == "gpuwiz_clocks_event_reason").samples
    active = {s.labels["reason"] for s in samples if s.value == 1}
    assert samples and {s.value for s in samples} <= {0, 1}
    assert active == set(sample.nvml.gpus[0].throttle_reasons)


def test_text_exposition_parses_and_keeps_dcgm_counter_names(profile_host):
    from prometheus_client.exposition import generate_latest

    sample = sample_of(profile_host, "dgx-h100x8")
    text = generate_latest(registry_for(lambda: sample)).decode()
    names = {f.name for f in text_string_to_metric_families(text)}
    assert "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL" in text and "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL_total" not in text
    assert {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE"} <= names


@pytest.mark.parametrize(
    "text, host, port",
    [("127.0.0.1:9835", "127.0.0.1", 9835), (":9400", "0.0.0.0", 9400), ("[::1]:9835", "::1", 9835)],
)
def test_listen_spellings(text, host, port):
    listen = parse_listen(text)
    assert (listen.host, listen.port) == (host, port)


@pytest.mark.parametrize("text", ["9835", "host:", "host:http", "127.0.0.1:0", "127.0.0.1:70000"])
def test_bad_listen_is_a_usage_error(text):
    result = subprocess.run(
        [*GPUWIZ, "exporter", "--profile", "homelab-ready", "--listen", text],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("gpuwiz: error: --listen:") and "Traceback" not in result.stderr


@pytest.fixture
def two_exporters():
    with exporters("dgx-h100x8", "homelab-ready") as started:
        yield started


def test_endpoint_serves_and_stops_on_sigterm(two_exporters):
    e = two_exporters["homelab-ready"]
    text = wait_for(e.url)
    assert "DCGM_FI_DEV_GPU_TEMP{" in text and 'gpuwiz_nvml_up{Hostname="node3"} 1.0' in text
    err = e.stop()
    assert e.proc.returncode == 0 and "Traceback" not in err


def test_port_in_use_is_a_usage_error(two_exporters):
    e = two_exporters["homelab-ready"]
    result = subprocess.run(
        [*GPUWIZ, "exporter", "--profile", "homelab-ready", "--listen", f"127.0.0.1:{e.port}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "Address already in use" in result.stderr


def test_nvml_trouble_is_a_metric_not_a_dead_endpoint():
    port = free_port()
    proc = subprocess.Popen(
        [*GPUWIZ, "exporter", "--profile", "fresh-rtx3060", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        text = wait_for(f"http://127.0.0.1:{port}/metrics")
        assert "gpuwiz_nvml_up" in text and " 0.0" in text.split("gpuwiz_nvml_up{", 1)[1].splitlines()[0]
        assert "gpuwiz_nvml_error{" in text
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "NVML does not answer" in err


@pytest.mark.skipif(not HAVE_PROMETHEUS, reason="prometheus is not installed (.ci/install-system-deps.sh)")
def test_a_real_prometheus_holds_every_gpu_of_two_exporters(two_exporters, tmp_path):
    targets = [f"127.0.0.1:{e.port}" for e in two_exporters.values()]
    with prometheus(targets, tmp_path) as url:
        result = wait_for_series(url, "DCGM_FI_DEV_GPU_TEMP", 9)
        assert len(result) == 9  # dgx-h100x8's eight H100s and homelab-ready's RTX 3060
        assert {r["metric"]["Hostname"] for r in result} == {"dgx-h100-01", "node3"}
        assert len({r["metric"]["UUID"] for r in result}) == 9
        assert float(query(url, "sum(up{job='gpuwiz'})")[0]["value"][1]) == 2
