"""Per-process SM and memory-bandwidth shares: NVML's two calls, their quirks, the table, the JSON."""

from __future__ import annotations

from types import SimpleNamespace

import pynvml
import pytest

from gpuwiz.backends.nvml.monitor_json import monitor_document
from gpuwiz.backends.nvml.processes import ProcessUtilization, process_utilization
from gpuwiz.backends.nvml.sampler import NvmlSampler
from gpuwiz.monitor_view import ViewOptions, proc_head, render, visible_processes


def sample_of(profile_host, name):
    host = profile_host(name)
    return NvmlSampler(host.nvml(), process_info=host.process_info, hostname=name).sample()


def s(pid, stamp, sm, mem=0):
    return SimpleNamespace(pid=pid, timeStamp=stamp, smUtil=sm, memUtil=mem, encUtil=0, decUtil=0)


class Binding:
    """The real pynvml's errors and constants, with the two calls answering as told."""

    NVMLError = pynvml.NVMLError

    def __init__(self, **calls):
        for name in dir(pynvml):
            if name.startswith("NVML_"):
                setattr(self, name, getattr(pynvml, name))
        for name, answer in calls.items():
            setattr(self, name, self._answer(answer))
        self.asked: list[str] = []

    @staticmethod
    def _answer(answer):
        def call(handle, last_seen):
            if isinstance(answer, int):
                raise pynvml.NVMLError(answer)
            return [x for x in answer if x.timeStamp > last_seen]

        return call


NEW, OLD = "nvmlDeviceGetProcessesUtilizationInfo", "nvmlDeviceGetProcessUtilization"


def test_the_newest_sample_of_each_process_wins():
    nvml = Binding(**{NEW: [s(1, 10, 40), s(1, 30, 60), s(2, 20, 5, 3)]})
    shares, seen = process_utilization(nvml, None, 0)
    assert shares == {1: ProcessUtilization(60, 0, 0, 0), 2: ProcessUtilization(5, 3, 0, 0)} and seen == 30
    assert process_utilization(nvml, None, 30) == ({}, 30)  # nothing newer: no samples, still supported


@pytest.mark.parametrize(
    "calls, expected",
    [
        ({NEW: pynvml.NVML_ERROR_FUNCTION_NOT_FOUND, OLD: [s(7, 5, 33)]}, {7: 33}),  # a pre-R550 driver
        ({OLD: [s(7, 5, 33)]}, {7: 33}),  # a binding without the new call
        ({NEW: pynvml.NVML_ERROR_NOT_SUPPORTED, OLD: [s(7, 5, 33)]}, {7: 33}),
        ({NEW: [s(7, 5, 90)], OLD: [s(7, 5, 33)]}, {7: 90}),  # R550+: the new call answers
        ({NEW: pynvml.NVML_ERROR_NOT_FOUND}, {}),  # no process ran since the last look
        ({NEW: pynvml.NVML_SUCCESS}, {}),  # pynvml's "Success" error: no process at all
        ({NEW: pynvml.NVML_ERROR_NOT_SUPPORTED, OLD: pynvml.NVML_ERROR_NOT_SUPPORTED}, None),  # MIG, old boards
        ({}, None),
    ],
)
def test_which_call_answers(calls, expected):
    shares, _ = process_utilization(Binding(**calls), None, 0)
    assert (None if shares is None else {pid: u.sm for pid, u in shares.items()}) == expected


def test_dgx_processes_carry_their_shares(profile_host):
    sample = sample_of(profile_host, "dgx-h100x8")
    by_pid = {p.record.pid: p.record for p in sample.processes}
    assert by_pid[2841099].sm_util == 72 and by_pid[2841099].mem_util == 34
    assert by_pid[1905034].sm_util == 0  # an idle notebook: supported, 0 %
    doc = monitor_document(sample)
    first = next(p for p in doc["processes"] if p["pid"] == 2841099)
    assert first["sm_utilization_percent"] == 72 and first["memory_bandwidth_utilization_percent"] == 34


def test_mig_and_unrecorded_gpus_are_na(profile_host):
    for name in ("a100-mig", "homelab-ready"):
        sample = sample_of(profile_host, name)
        assert all(p.record.sm_util is None for p in sample.processes)
        assert all(p["sm_utilization_percent"] is None for p in monitor_document(sample)["processes"])


def test_sorted_by_sm_and_bandwidth_shares_both_ways(profile_host):
    sample = sample_of(profile_host, "dgx-h100x8")
    shown = [p.record.sm_util for p in visible_processes(sample, ViewOptions(width=80, sort="sm"))]
    assert shown == sorted(shown, reverse=True) and shown[0] >= 71
    by_bw = [p.record.mem_util for p in visible_processes(sample, ViewOptions(width=80, sort="bandwidth"))]
    assert by_bw == sorted(by_bw, reverse=True)
    up = [
        p.record.mem_util for p in visible_processes(sample, ViewOptions(width=80, sort="bandwidth", sort_reverse=True))
    ]
    assert up == sorted(up)


@pytest.mark.parametrize("width", [80, 120])
def test_the_table_has_sm_and_fits(profile_host, width):
    from gpuwiz.backends.nvml.history import History

    sample = sample_of(profile_host, "dgx-h100x8")
    history = History()
    history.add(sample)
    lines = [
        line.plain for line in render(sample, history, ViewOptions(width=width, height=None, graphs=False, live=False))
    ]
    head = next(line for line in lines if line.startswith("GPU") and "PID" in line)
    assert head == proc_head(width) and "SM%" in head
    assert ("Host-Mem" in head) == (width >= 100) == ("MBW%" in head)  # narrow: the command keeps its room
    row = next(line for line in lines if "2841099" in line)
    assert " 72 " in row and all(len(line) <= width for line in lines)
