"""The monitor's lines (monitor_view), its JSON document and `gpuwiz monitor --once/--json`."""

from __future__ import annotations

import json
import time

import pytest

from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile
from gpuwiz.backends.nvml.fake import FakeNvml
from gpuwiz.backends.nvml.history import METRICS, History
from gpuwiz.backends.nvml.monitor_json import monitor_document
from gpuwiz.backends.nvml.sample import MonitorSample
from gpuwiz.backends.nvml.sampler import NvmlSampler
from gpuwiz.cli import main
from gpuwiz.monitor_view import ViewOptions, bar, render, sparkline, visible_processes


def sample_of(profile: str, samples: int = 1) -> tuple[MonitorSample, History]:
    t = [0.0]
    host = ProfileHost(load_profile(profile, {}), motion=(1, lambda: t[0]))
    sampler = NvmlSampler(host.nvml(), process_info=host.process_info, wall_clock=lambda: 1_790_000_000.0)
    history = History()
    for n in range(samples):
        t[0] = float(n)
        sample = sampler.sample()
        history.add(sample)
    return sample, history


def plain(lines) -> list[str]:
    return [line.plain for line in lines]


def test_dgx_at_80x24_is_one_line_per_gpu_and_processes_fit():
    sample, history = sample_of("dgx-h100x8", 30)
    lines = plain(render(sample, history, ViewOptions(width=80, height=22)))
    assert len(lines) <= 22 and all(len(line) <= 80 for line in lines)
    gpu_lines = [line for line in lines if "H100 80GB HBM3" in line]
    assert len(gpu_lines) == 8
    assert any(line.startswith("Processes") for line in lines)
    process_rows = [line for line in lines if line[:1].isdigit() and "MiB" in line and "H100" not in line]
    assert len(process_rows) >= 5


def test_dgx_at_160x50_gets_full_panels_in_two_columns():
    sample, history = sample_of("dgx-h100x8", 30)
    lines = plain(render(sample, history, ViewOptions(width=160, height=48)))
    assert all(len(line) <= 160 for line in lines)
    assert sum(line.count("┌─ GPU") for line in lines) == 8
    assert any("GPU 0" in line and "GPU 1" in line for line in lines)  # side by side
    assert any("Persist On" in line and "ECC On, 0 uncorr." in line for line in lines)


def test_laptop_shows_na_for_what_a_geforce_does_not_report():
    sample, history = sample_of("laptop-mx150")
    text = "\n".join(plain(render(sample, history, ViewOptions(width=100, height=30))))
    assert "Fan N/A" in text and "ECC N/A" in text and "MIG N/A" in text
    assert "Xorg" in text and "gdm" in text


def test_no_unicode_is_ascii_only():
    for profile in ("dgx-h100x8", "laptop-mx150", "no-gpu"):
        sample, history = sample_of(profile, 5)
        for width, height in ((80, 22), (160, 48)):
            lines = plain(render(sample, history, ViewOptions(width=width, height=height, unicode=False)))
            assert all(line.isascii() for line in lines), profile


def test_no_library_is_a_panel_with_the_fix():
    sample, history = sample_of("no-gpu")
    text = "\n".join(plain(render(sample, history, ViewOptions(width=80, height=22))))
    assert "NVML: LibraryNotFound" in text and "fix: Install the driver" in text and "Trying again" in text


def test_lost_gpu_line():
    host = ProfileHost(load_profile("dgx-h100x8", {}))
    nvml = host.nvml()
    sampler = NvmlSampler(nvml, process_info=host.process_info)
    sampler.sample()
    nvml.lost.add(2)
    sample = sampler.sample()
    compact = plain(render(sample, History(), ViewOptions(width=80, height=22)))
    assert any(line.startswith("  2 ") and "LOST" in line for line in compact)
    wide = plain(render(sample, History(), ViewOptions(width=160, height=60)))
    assert any("LOST" in line and "fell off the bus" in line for line in wide)


def test_unresolved_pids_are_marked_with_a_hint():
    sample, history = sample_of("dgx-h100x8")
    text = plain(render(sample, history, ViewOptions(width=120, height=None)))
    assert any("another PID namespace" in line and " ? " in line for line in text)
    assert any(line.startswith("?: a PID of another namespace") for line in text)


def test_sort_and_filters():
    sample, _ = sample_of("dgx-h100x8")
    by_memory = visible_processes(sample, ViewOptions(width=80))
    mems = [p.record.used_memory_mib or 0 for p in by_memory]
    assert mems == sorted(mems, reverse=True)
    by_pid = visible_processes(sample, ViewOptions(width=80, sort="pid"))
    assert [p.record.pid for p in by_pid] == sorted(p.record.pid for p in by_pid)
    gpu3 = visible_processes(sample, ViewOptions(width=80, gpu_filter=3))
    assert gpu3 and all(p.gpu_index == 3 for p in gpu3)
    bob = visible_processes(sample, ViewOptions(width=80, user_filter="bob"))
    assert bob and all(p.info and p.info.user == "bob" for p in bob)


def test_selected_process_stays_in_view():
    sample, history = sample_of("dgx-h100x8")
    procs = visible_processes(sample, ViewOptions(width=80))
    last = procs[-1].record.pid
    lines = render(sample, history, ViewOptions(width=80, height=22, selected_pid=last))
    assert any(str(last) in line.plain and "reverse" in str(line.spans) for line in lines)


def test_bars_and_sparklines():
    assert bar(0.5, 8, True) == "████░░░░" and bar(0.5, 8, False) == "####...."
    assert bar(None, 4, True) == "░░░░" and bar(1.5, 3, False) == "###"
    line = sparkline([0, 1, 50, 100, None], 5, True)
    assert line == " ▁▄█ " and len(sparkline([10] * 50, 20, False)) == 20


def test_every_metric_graphs():
    sample, history = sample_of("dgx-h100x8", 20)
    for metric in METRICS:
        assert any(history.series(0, metric.key))
        lines = plain(render(sample, history, ViewOptions(width=160, height=48, metric=metric.key)))
        assert any(line.lstrip("│ ").startswith(metric.key) for line in lines)


def test_json_document():
    sample, _ = sample_of("laptop-mx150")
    doc = monitor_document(sample, profile="laptop-mx150")
    assert doc["format"] == 1 and doc["error"] is None and doc["cuda_version"] == "11.7"
    gpu = doc["gpus"][0]
    assert gpu["fan_percent"] is None and gpu["power_draw_w"] is None and gpu["temperature_c"] is not None
    proc = doc["processes"][0]
    assert proc["pid"] == 936 and proc["type"] == "G" and proc["user"] == "gdm" and proc["resolved"]
    json.dumps(doc)


def test_json_document_keys_are_documented():
    from pathlib import Path

    sample, _ = sample_of("dgx-h100x8")
    doc = monitor_document(sample)
    text = (Path(__file__).parent.parent / "docs" / "monitor-json.md").read_text()
    keys = set(doc) | set(doc["gpus"][0]) | set(doc["processes"][0])
    mig = monitor_document(sample_of("a100-mig")[0])["gpus"][0]["mig_devices"]
    if mig:
        keys |= set(mig[0])
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, missing


def test_json_error_document():
    sample, _ = sample_of("no-gpu")
    doc = monitor_document(sample)
    assert doc["error"]["name"] == "LibraryNotFound" and doc["gpus"] == [] and "fix" in doc["error"]


# --- the command ------------------------------------------------------------------------------


def test_once_prints_a_table(capsys):
    assert main(["--profile", "laptop-mx150", "monitor", "--once"]) == 0
    out = capsys.readouterr().out
    assert "GeForce MX150" in out and "Processes" in out and "\x1b[" not in out


def test_once_no_unicode_is_ascii(capsys):
    assert main(["--profile", "dgx-h100x8", "monitor", "--once", "--no-unicode"]) == 0
    assert capsys.readouterr().out.isascii()


def test_json_flag(capsys):
    assert main(["--profile", "dgx-h100x8", "monitor", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["gpus"]) == 8 and doc["profile"] == "dgx-h100x8"


def test_once_without_nvml_exits_1(capsys):
    assert main(["--profile", "no-gpu", "monitor", "--once"]) == 1
    out = capsys.readouterr().out
    assert "LibraryNotFound" in out and "Trying again" not in out


def test_interval_too_short_is_a_usage_error(capsys):
    assert main(["--profile", "laptop-mx150", "monitor", "--interval", "0.1"]) == 2
    assert "--interval" in capsys.readouterr().err


def test_live_monitor_needs_a_terminal(capsys):
    assert main(["--profile", "laptop-mx150", "monitor"]) == 2
    assert "--once" in capsys.readouterr().err


def test_real_library_says_driver_not_loaded(capsys):
    """The real libnvidia-ml.so.1 (Debian's libnvidia-ml1) on a machine without the kernel driver."""
    import ctypes.util

    import pynvml

    try:
        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        pytest.skip("a working NVIDIA driver is loaded here")
    except pynvml.NVMLError as exc:
        if type(exc).__name__ != "NVMLError_DriverNotLoaded":
            pytest.skip(f"libnvidia-ml answers {type(exc).__name__} here ({ctypes.util.find_library('nvidia-ml')})")
    assert main(["monitor", "--once"]) == 1
    assert "NVML: DriverNotLoaded" in capsys.readouterr().out
    assert main(["monitor", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["name"] == "DriverNotLoaded"


def test_sampler_over_a_day_of_history_is_bounded():
    nvml = FakeNvml(load_profile("laptop-mx150", {}).nvml)
    sampler = NvmlSampler(nvml)
    history = History(length=300)
    for _ in range(1000):
        history.add(sampler.sample())
    assert len(history.series(0, "util")) == 300


def test_header_clock_and_interval():
    sample, history = sample_of("laptop-mx150")
    head = render(sample, history, ViewOptions(width=120, interval=0.5))[0].plain
    assert time.strftime("%H:%M:%S", time.localtime(sample.wall_time)) in head and "every 0.5 s" in head
    paused = render(sample, history, ViewOptions(width=120, paused=True))[0].plain
    assert "PAUSED" in paused


def test_once_and_json_never_load_textual():
    import subprocess
    import sys

    code = (
        "import sys; from gpuwiz.cli import main; main(['--profile', 'laptop-mx150', 'monitor', '--json']); "
        "sys.exit(3 if 'textual' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
