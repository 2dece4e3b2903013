"""The monitor's host line: /proc's CPU times, memory and load, parsed as top and free count them."""

from __future__ import annotations

from gpuwiz.backends.machine.host_stats import HostStatsReader, parse_cpu_times, parse_loadavg, parse_meminfo

# /proc/stat's head in proc(5)'s layout (user nice system idle iowait irq softirq steal guest guest_nice)
STAT_1 = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\ncpu1 50 0 25 400 25 0 0 0 0 0\nintr 1\n"
STAT_2 = "cpu  160 0 70 860 60 0 0 0 0 0\ncpu0 80 0 35 430 30 0 0 0 0 0\ncpu1 80 0 35 430 30 0 0 0 0 0\nintr 1\n"
MEMINFO = "MemTotal:       16384000 kB\nMemFree:         2048000 kB\nMemAvailable:    8192000 kB\nSwapTotal:       2097148 kB\nSwapFree:        1048574 kB\n"


def test_parsers():
    assert parse_cpu_times(STAT_1) == ((150, 1000), 2)  # iowait counts as idle
    assert parse_loadavg("0.52 0.58 0.59 1/467 12345\n") == (0.52, 0.58, 0.59)
    assert parse_loadavg("") is None
    assert parse_meminfo(MEMINFO)["MemAvailable"] == 8192000


def test_cpu_percent_between_two_looks_and_memory_as_free_counts_it():
    files = {"/proc/stat": STAT_1, "/proc/meminfo": MEMINFO, "/proc/loadavg": "1.00 2.00 3.00 1/2 3\n"}
    reader = HostStatsReader(files.get)
    first = reader.read()
    assert first.cpu_percent is None and first.cpus == 2 and first.load == (1.0, 2.0, 3.0)
    assert first.memory_used_mib == (16384000 - 8192000) / 1024 and first.swap_used_mib == (2097148 - 1048574) / 1024
    files["/proc/stat"] = STAT_2
    assert reader.read().cpu_percent == 53.3  # 80 busy of 150 jiffies


def test_nothing_to_tell_is_none():
    assert HostStatsReader(lambda path: None).read() is None


def test_the_host_line_is_wide_only_and_in_json(profile_host):
    from gpuwiz.backends.nvml.history import History
    from gpuwiz.backends.nvml.monitor_json import monitor_document
    from gpuwiz.backends.nvml.sampler import NvmlSampler
    from gpuwiz.monitor_view import ViewOptions, render

    host = profile_host("dgx-h100x8")
    sample = NvmlSampler(host.nvml(), process_info=host.process_info).sample()
    from dataclasses import replace

    sample = replace(sample, host=HostStatsReader(host.read_text).read())
    history = History()
    history.add(sample)
    wide = [line.plain for line in render(sample, history, ViewOptions(width=130, graphs=False, live=False))]
    narrow = [line.plain for line in render(sample, history, ViewOptions(width=80, graphs=False, live=False))]
    assert wide[1].startswith("Host  MEM") and "/2015.5GiB" in wide[1] and "load 31.42 30.87 29.96" in wide[1]
    assert not any(line.startswith("Host") for line in narrow)
    doc = monitor_document(sample)["host"]
    assert doc["memory_total_mib"] == round(2113389400 / 1024, 1) and doc["cpu_percent"] is None
