"""The monitor screen: snapshots (seeded motion, frozen clocks), keys, signals, pausing, hang-up."""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import replace

import pytest

from gpuwiz.app import GpuwizApp
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile
from gpuwiz.backends.nvml.history import History
from gpuwiz.backends.nvml.sampler import NvmlSampler
from gpuwiz.screens.monitor import MonitorConfig, MonitorScreen

WALL = 1_795_000_000.0  # 2026-11-18 07:06:40 UTC


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def monitor_app(profile: str, *, readonly: bool = False, unicode: bool = True, standalone: bool = True):
    """The monitor on a profile with two minutes of history behind it, then frozen in time."""
    t = [0.0]
    host = ProfileHost(load_profile(profile, {"HOME": "/nonexistent"}), motion=(7, lambda: t[0]))
    history = History()
    sampler = NvmlSampler(host.nvml(), process_info=host.process_info)
    for n in range(120):
        t[0] = float(n)
        history.add(sampler.sample())
    sampler.close()
    config = MonitorConfig(
        interval=3600,  # one sample after start: the picture does not move while it is taken
        readonly=readonly,
        unicode=unicode,
        standalone=standalone,
        clock=lambda: t[0],
        wall_clock=lambda: WALL,
        history=history,
    )
    return GpuwizApp(host=host, profile_name=profile, monitor=config), host


async def sampled(pilot) -> None:
    screen = pilot.app.screen
    for _ in range(400):  # up to 20 s on a busy CI machine
        if isinstance(screen, MonitorScreen) and screen.sample is not None:
            break
        await pilot.pause(0.05)
        screen = pilot.app.screen
    await pilot.pause()


PROFILES = ["laptop-mx150", "dgx-h100x8", "a100-mig", "no-gpu"]


@pytest.mark.parametrize("size", [(80, 24), (160, 50), (120, 40)])
@pytest.mark.parametrize("profile", PROFILES)
def test_monitor_snapshot(snap_compare, profile, size):
    app, _ = monitor_app(profile)
    assert snap_compare(app, terminal_size=size, run_before=sampled)


def test_monitor_snapshot_ascii_gpu_detail(snap_compare):
    """--no-unicode at 80×24 with one GPU picked (f): its detail lines and only its processes."""

    async def pick(pilot) -> None:
        await sampled(pilot)
        await pilot.press("f", "f")
        await pilot.pause()

    app, _ = monitor_app("dgx-h100x8", unicode=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=pick)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_monitor_snapshot_signal_confirmation(snap_compare, size):
    async def ask(pilot) -> None:
        await sampled(pilot)
        await pilot.press("t")
        await pilot.pause()

    app, _ = monitor_app("dgx-h100x8")
    assert snap_compare(app, terminal_size=size, run_before=ask)


def run(app, script):
    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await sampled(pilot)
            await script(pilot, pilot.app.screen)

    asyncio.run(go())


def test_keys_change_what_is_shown():
    app, _ = monitor_app("dgx-h100x8")

    async def script(pilot, screen):
        assert screen.options.sort == "memory" and screen.options.metric == "util"
        first = screen.options.selected_pid
        await pilot.press("down")
        assert screen.options.selected_pid != first
        await pilot.press("s")
        assert screen.options.sort == "sm"
        await pilot.press("m")
        assert screen.options.metric == "memory"
        await pilot.press("f")
        assert screen.options.gpu_filter == 0
        await pilot.press("u")
        assert screen.options.user_filter is not None
        await pilot.press("p")
        assert screen.options.paused and not screen._active()
        await pilot.press("p")
        assert not screen.options.paused

    run(app, script)


def test_sigterm_after_yes():
    app, host = monitor_app("dgx-h100x8")

    async def script(pilot, screen):
        pid = screen.options.selected_pid
        await pilot.press("t")
        assert pilot.app.screen.__class__.__name__ == "ConfirmScreen"
        assert not screen._active()  # no sampling under a modal
        await pilot.press("y")
        await pilot.pause()
        assert host.signals == [(pid, signal.SIGTERM)]
        assert f"sent SIGTERM to PID {pid}" in screen.options.message

    run(app, script)


def test_sigkill_answered_no_sends_nothing():
    app, host = monitor_app("dgx-h100x8")

    async def script(pilot, screen):
        await pilot.press("K")
        await pilot.press("n")
        await pilot.pause()
        assert host.signals == [] and screen.options.message == "nothing sent"

    run(app, script)


def test_readonly_refuses_signals():
    app, host = monitor_app("dgx-h100x8", readonly=True)

    async def script(pilot, screen):
        await pilot.press("t")
        assert isinstance(pilot.app.screen, MonitorScreen)
        assert "--readonly" in screen.options.message and host.signals == []

    run(app, script)


def test_unresolved_pid_is_never_signalled():
    app, host = monitor_app("dgx-h100x8")

    async def script(pilot, screen):
        hidden = next(p.record.pid for p in screen.sample.processes if p.info is None)
        screen.options = replace(screen.options, selected_pid=hidden)
        await pilot.press("t")
        assert isinstance(pilot.app.screen, MonitorScreen)
        assert "another PID namespace" in screen.options.message and host.signals == []

    run(app, script)


def test_help_lists_the_monitor_keys():
    app, _ = monitor_app("laptop-mx150")

    async def script(pilot, screen):
        await pilot.press("question_mark")
        assert pilot.app.screen.__class__.__name__ == "HelpScreen"
        assert "SIGTERM" in pilot.app.screen.text
        assert not screen._active()

    run(app, script)


def test_q_quits_the_standalone_monitor():
    app, _ = monitor_app("laptop-mx150")

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await sampled(pilot)
            await pilot.press("q")
            await pilot.pause()
        return app.return_code

    assert asyncio.run(go()) in (0, None)


def test_reachable_from_the_wizard_and_back():
    host = ProfileHost(load_profile("laptop-mx150", {"HOME": "/nonexistent"}))
    app = GpuwizApp(host=host, profile_name="laptop-mx150")

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.app.workers.wait_for_complete()
            await pilot.press("m")
            await sampled(pilot)
            assert isinstance(pilot.app.screen, MonitorScreen)
            assert pilot.app.screen.sample.nvml.gpus[0].name == "NVIDIA GeForce MX150"
            await pilot.press("q")
            await pilot.pause()
            assert pilot.app.screen.__class__.__name__ == "LayersScreen"

    asyncio.run(go())


@pytest.mark.parametrize("sighup", ["default", "ignored"])
def test_exits_when_the_terminal_goes_away(sighup):
    """An SSH session that drops: the pty hangs up, the monitor ends instead of spinning — also
    under `nohup` (SIGHUP ignored), where only the terminal's EIO tells."""
    import os
    import pty
    import sys

    pid, fd = pty.fork()
    if pid == 0:  # the child: gpuwiz in a terminal of its own
        os.environ["TERM"] = "xterm-256color"
        # kept across exec, as nohup does; default: as in an SSH session, also when the tests run under nohup
        signal.signal(signal.SIGHUP, signal.SIG_IGN if sighup == "ignored" else signal.SIG_DFL)
        os.execv(sys.executable, [sys.executable, "-m", "gpuwiz", "--profile", "laptop-mx150", "monitor"])
    seen = b""
    deadline = time.monotonic() + 30
    while b"MX150" not in seen and time.monotonic() < deadline:
        try:
            seen += os.read(fd, 65536)
        except OSError:
            break
    assert b"MX150" in seen, seen[-500:]
    os.close(fd)  # the terminal goes away
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the monitor kept running after its terminal hung up")
    # killed by SIGHUP, or leaving with the status a shell gives that: 128 + 1
    assert os.waitstatus_to_exitcode(status) in (-signal.SIGHUP, 128 + signal.SIGHUP)


def test_resizing_never_breaks_it():
    app, _ = monitor_app("dgx-h100x8")

    async def go():
        async with app.run_test(size=(160, 50)) as pilot:
            await sampled(pilot)
            screen = pilot.app.screen
            for size in ((80, 24), (40, 12), (20, 5), (200, 60), (81, 24), (80, 24)):
                await pilot.resize_terminal(*size)
                await pilot.pause()
                await pilot.pause()
                lines = [line.plain for line in screen.query_one("#monitor-lines").lines]
                assert lines and all(len(line) <= size[0] for line in lines), size
            assert any("H100" in line for line in lines)

    asyncio.run(go())


def test_real_library_without_driver_shows_the_panel():
    """The real libnvidia-ml.so.1 here says DriverNotLoaded: the monitor shows why, it does not crash."""
    import pynvml

    from gpuwiz.backends.machine.host import RealHost

    try:
        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        pytest.skip("a working NVIDIA driver is loaded here")
    except pynvml.NVMLError as exc:
        if type(exc).__name__ != "NVMLError_DriverNotLoaded":
            pytest.skip(f"libnvidia-ml answers {type(exc).__name__} here")
    app = GpuwizApp(host=RealHost(), monitor=MonitorConfig(standalone=True))

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await sampled(pilot)
            lines = [line.plain for line in pilot.app.screen.query_one("#monitor-lines").lines]
            assert any("NVML: DriverNotLoaded" in line for line in lines)
            # a GPU on the bus: NVML is tried again; none (a CI runner): it says so, nothing to wait for
            assert any("Trying again" in line or "No NVIDIA GPU on this machine's PCI bus" in line for line in lines)

    asyncio.run(go())


def test_from_the_wizard_d_leads_to_the_driver_layer_when_nvml_cannot_start():
    host = ProfileHost(load_profile("fresh-rtx3060", {"HOME": "/nonexistent"}))
    app = GpuwizApp(host=host, profile_name="fresh-rtx3060")

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.app.workers.wait_for_complete()
            await pilot.press("m")
            await sampled(pilot)
            assert pilot.app.screen.sample.problem == "LibraryNotFound"
            await pilot.press("d")
            await pilot.pause()
            layers = pilot.app.screen
            assert layers.__class__.__name__ == "LayersScreen"
            assert layers.query_one("#layers").highlighted == 1

    asyncio.run(go())


def test_reverse_sort_and_the_process_detail():
    """S turns the sort around; Enter shows the selected process whole: its command line and parents."""
    app, _ = monitor_app("dgx-h100x8")

    async def script(pilot, screen):
        biggest = screen.options.selected_pid
        await pilot.press("S")
        assert screen.options.sort_reverse and "sort: memory, reversed" in lines_of(screen)
        await pilot.press("S")
        assert screen.options.selected_pid == biggest
        await pilot.press("enter")
        await pilot.pause()
        detail = pilot.app.screen
        text = "\n".join(detail.text_lines)
        assert f"PID {biggest}" in text and "--local-rank=" in text  # the whole command line, not cut
        assert "torchrun --nproc_per_node=8" in text and "tmux new -s sft" in text and "/sbin/init" in text
        await pilot.press("escape")
        assert pilot.app.screen is screen

    run(app, script)


def lines_of(screen) -> str:
    return "\n".join(line.plain for line in screen.query_one("#monitor-lines").lines)


def test_process_detail_snapshot(snap_compare):
    async def detail(pilot) -> None:
        await sampled(pilot)
        await pilot.press("enter")
        await pilot.pause()

    app, _ = monitor_app("dgx-h100x8")
    assert snap_compare(app, terminal_size=(80, 24), run_before=detail)
