"""--only, --only-visible (CUDA_VISIBLE_DEVICES), --user, --frozen: which GPUs and processes the monitor shows."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gpuwiz.backends.gpu_records import GpuRecord, MigDeviceRecord
from gpuwiz.backends.nvml.gpu_selection import parse_gpu_list, selected_gpus

GPUS = (
    GpuRecord("A", "0", 1, uuid="GPU-1111aaaa-0000"),
    GpuRecord("B", "1", 1, uuid="GPU-2222bbbb-0000", mig_devices=(MigDeviceRecord(1, 0, 1, uuid="MIG-9999"),)),
    GpuRecord("C", "2", 1, uuid="GPU-2222cccc-0000"),
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0,2", {0, 2}),
        ("GPU-2222c", {2}),  # a unique UUID prefix
        ("MIG-9999", {1}),  # a MIG device: its GPU
        ("1,GPU-2222", {1}),  # an ambiguous prefix ends the list, as CUDA does
        ("0,7,2", {0}),  # no GPU 7: the list ends there
        ("", set()),  # CUDA_VISIBLE_DEVICES="": no GPU visible
        (" 2 , 0 ", {0, 2}),
    ],
)
def test_cuda_visible_devices_semantics(text, expected):
    assert selected_gpus(parse_gpu_list(text), GPUS) == expected


def monitor_json(*args, env=None):
    result = subprocess.run(
        [sys.executable, "-m", "gpuwiz", "--profile", "dgx-h100x8", "monitor", "--json", *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", **(env or {})},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_only_and_only_visible_and_user_in_json():
    doc = monitor_json("--only", "1,GPU-0b708324")
    assert [g["index"] for g in doc["gpus"]] == [1, 7] and {p["gpu_index"] for p in doc["processes"]} == {1, 7}
    visible = monitor_json("--only-visible", env={"CUDA_VISIBLE_DEVICES": "3"})
    assert [g["index"] for g in visible["gpus"]] == [3]
    assert len(monitor_json("--only-visible")["gpus"]) == 8  # unset: every GPU, as for CUDA
    mine = monitor_json("--user", "dave")
    assert mine["processes"] and {p["user"] for p in mine["processes"]} == {"dave"}


def test_the_screen_shows_only_the_chosen_gpus():
    from test_monitor_tui import monitor_app, run, sampled  # noqa: F401 (the same frozen monitor)

    app, _ = monitor_app("dgx-h100x8")
    screen_config = app.monitor
    screen_config.only = ("2", "5")
    screen_config.user = "alice"

    async def script(pilot, screen):
        text = "\n".join(line.plain for line in screen.query_one("#monitor-lines").lines)
        assert "2 of 8 GPUs" in text
        assert screen.options.only == {2, 5} and screen.options.user_filter == "alice"
        await pilot.press("f")
        assert screen.options.gpu_filter == 2
        await pilot.press("f")
        assert screen.options.gpu_filter == 5
        shown = {p.gpu_index for p in screen.sample.processes if p.info and p.info.user == "alice"}
        assert shown >= {2, 5}

    run(app, script)


def test_frozen_holds_a_profiles_values_still(monkeypatch):
    from gpuwiz import app as app_module
    from gpuwiz.cli import main

    seen = {}

    def fake_run(self):
        seen["motion"] = self.host.motion

    monkeypatch.setattr(app_module.GpuwizApp, "run", fake_run)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["--profile", "dgx-h100x8", "monitor", "--frozen"]) == 0
    assert seen["motion"] is None
    assert main(["--profile", "dgx-h100x8", "monitor"]) == 0
    assert seen["motion"] is not None


def test_bad_only_is_a_usage_error():
    result = subprocess.run(
        [sys.executable, "-m", "gpuwiz", "monitor", "--only", ",", "--once"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "--only" in result.stderr
