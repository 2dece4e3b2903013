"""The run confirmation's summary of changes (a file's diff one key away), the run-log viewer (from
the run screen and, for the last run, from the layers screen), rollback from the wizard, and
copying the shown command (OSC 52, through Textual's App.copy_to_clipboard)."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from gpuwiz.app import GpuwizApp
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile
from gpuwiz.backends.runs.executor import RunStatus
from gpuwiz.screens.rollback import RollbackScreen
from gpuwiz.screens.run import RunScreen
from gpuwiz.screens.run_confirm import RunConfirmScreen
from gpuwiz.screens.text_view import TextViewScreen

SNAPSHOT_STATE = "/tmp/gpuwiz-test-run-views-state"  # fixed: the log's path is on the snapshot


def app_on(profile: str, state: str) -> tuple[GpuwizApp, ProfileHost]:
    host = ProfileHost(load_profile(profile, {"HOME": "/nonexistent"}), simulate_steps=True)
    return GpuwizApp(host=host, profile_name=profile, user_env={"XDG_STATE_HOME": state, "HOME": "/nonexistent"}), host


async def settled(pilot) -> None:
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)
    await pilot.pause()


async def run_driver(pilot) -> RunScreen:
    await settled(pilot)
    await pilot.press("2", "x")
    await pilot.pause()
    assert isinstance(pilot.app.screen, RunConfirmScreen)
    await pilot.press("y")
    for _ in range(100):
        await settled(pilot)
        screen = pilot.app.screen
        if isinstance(screen, RunScreen) and screen.outcome is not None and not screen.running:
            return screen
    raise AssertionError("the run did not end")


def test_the_confirmation_lists_the_changes_and_shows_each_diff(tmp_path):
    app, host = app_on("fresh-rtx3060", str(tmp_path))

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("2", "x")
            await pilot.pause()
            screen = pilot.app.screen
            assert isinstance(screen, RunConfirmScreen)
            assert str(screen.query_one("#runconfirm-counts").render()).startswith("Changes: 2 files created")
            assert [f.path for f in screen.summary.created] == [
                "/etc/modprobe.d/gpuwiz-blacklist-nouveau.conf",
                "/etc/apt/apt.conf.d/51gpuwiz-nvidia",
            ]
            await pilot.press("down", "enter")  # the second file
            await pilot.pause()
            view = pilot.app.screen
            assert isinstance(view, TextViewScreen) and view.heading.endswith("/etc/apt/apt.conf.d/51gpuwiz-nvidia")
            assert view.text_lines[0] == "--- /dev/null"
            await pilot.press("escape")
            await pilot.pause()
            assert pilot.app.screen is screen  # back to the question, nothing ran
            await pilot.press("down", "down", "d")  # a package row: no diff
            await pilot.pause()
            assert pilot.app.screen is screen
            await pilot.press("n")
            await pilot.pause()
            assert not host.writes

    asyncio.run(go())


def test_log_viewer_and_copy_from_the_run_screen(tmp_path):
    app, _ = app_on("fresh-rtx3060", str(tmp_path))

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await run_driver(pilot)
            assert screen.outcome.status is RunStatus.REBOOT
            await pilot.press("y")
            await pilot.pause()
            step = screen._shown_step
            assert app._clipboard == (" ".join(step.argv) if step.argv else step.edit.path)
            await pilot.press("l")
            await pilot.pause()
            view = pilot.app.screen
            assert isinstance(view, TextViewScreen) and view.shown_path == str(screen._log.path)
            assert view.text_lines[0] == "# SIMULATED machine fresh-rtx3060: nothing on this machine was run or changed"
            assert str(tmp_path) in view.heading
            await pilot.press("q")
            await pilot.pause()
            assert pilot.app.screen is screen

    asyncio.run(go())


def test_copy_writes_osc_52_to_the_terminal(tmp_path):
    """App.copy_to_clipboard writes ESC ] 52 ; c ; BASE64 BEL through the driver."""
    import base64

    app, _ = app_on("fresh-rtx3060", str(tmp_path))
    written: list[str] = []

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await run_driver(pilot)
            pilot.app._driver.write = written.append  # type: ignore[union-attr]
            screen._shown_step = screen.plan.steps[1]  # update-initramfs -u
            await pilot.press("y")
            await pilot.pause()

    asyncio.run(go())
    expected = base64.b64encode(b"update-initramfs -u").decode()
    assert f"\x1b]52;c;{expected}\x07" in written


def test_last_log_and_rollback_from_the_layers_screen(tmp_path):
    app, host = app_on("fresh-rtx3060", str(tmp_path))

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("l")  # no run yet
            await pilot.pause()
            assert pilot.app.screen.__class__.__name__ == "LayersScreen"
            await run_driver(pilot)
            assert host.read_text("/etc/modprobe.d/gpuwiz-blacklist-nouveau.conf") is not None
            await pilot.press("q")
            await settled(pilot)
            while pilot.app.screen.__class__.__name__ != "LayersScreen":  # the offer to go on
                await pilot.press("n")
                await settled(pilot)
            await pilot.press("l")
            await pilot.pause()
            view = pilot.app.screen
            assert isinstance(view, TextViewScreen) and "Log of the last run" in view.heading
            await pilot.press("q")
            await pilot.pause()
            await pilot.press("u")
            await settled(pilot)
            modal = pilot.app.screen
            assert isinstance(modal, RollbackScreen)
            listed = [str(o.prompt) for o in modal.query_one("#rollback-actions").options]
            assert "remove /etc/modprobe.d/gpuwiz-blacklist-nouveau.conf (the run created it)" in listed
            await pilot.press("y")
            await settled(pilot)
            assert modal.results and all(line.startswith("removed ") for line in modal.results)
            assert host.read_text("/etc/modprobe.d/gpuwiz-blacklist-nouveau.conf") is None
            await pilot.press("q")
            await settled(pilot)
            assert pilot.app.screen.__class__.__name__ == "LayersScreen"

    asyncio.run(go())


def test_rollback_answered_no_changes_nothing(tmp_path):
    app, host = app_on("fresh-rtx3060", str(tmp_path))

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await run_driver(pilot)
            await pilot.press("q")
            await settled(pilot)
            while pilot.app.screen.__class__.__name__ != "LayersScreen":
                await pilot.press("n")
                await settled(pilot)
            await pilot.press("u")
            await settled(pilot)
            assert isinstance(pilot.app.screen, RollbackScreen)
            await pilot.press("n")
            await settled(pilot)
            assert host.read_text("/etc/modprobe.d/gpuwiz-blacklist-nouveau.conf") is not None

    asyncio.run(go())


SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])


@SIZES
def test_confirmation_with_summary_snapshot(snap_compare, tmp_path, size):
    """The driver layer's question: files created, files its commands write, packages, the reboot
    (a warning), each wrapped row going on under its own start."""
    app, _ = app_on("fresh-rtx3060", str(tmp_path))

    async def ask(pilot) -> None:
        await settled(pilot)
        await pilot.press("2", "x")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=ask)


@SIZES
def test_log_viewer_snapshot(snap_compare, monkeypatch, size):
    import gpuwiz.backends.runs.run_log as run_log

    shutil.rmtree(SNAPSHOT_STATE, ignore_errors=True)
    monkeypatch.setattr(run_log.time, "strftime", lambda fmt, *a: "20260101-000000")
    app, _ = app_on("fresh-rtx3060", SNAPSHOT_STATE)

    async def view(pilot) -> None:
        await run_driver(pilot)
        await pilot.press("l")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=view)


@SIZES
def test_log_viewer_help_snapshot(snap_compare, monkeypatch, size):
    import gpuwiz.backends.runs.run_log as run_log

    shutil.rmtree(SNAPSHOT_STATE, ignore_errors=True)
    monkeypatch.setattr(run_log.time, "strftime", lambda fmt, *a: "20260101-000000")
    app, _ = app_on("fresh-rtx3060", SNAPSHOT_STATE)

    async def view(pilot) -> None:
        await run_driver(pilot)
        await pilot.press("l", "question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=view)
