"""NO_COLOR snapshots of the wizard's run views at 80×24 and 120×40 (SVGs in
snapshots/test_snapshots_no_color_views/): the focus marker, the change summary with its warnings
in weight, the run log and the viewer's own help, and --no-unicode's ASCII screen."""

from __future__ import annotations

import pytest
from test_snapshots_no_color import make_app, probed

from gpuwiz.app import GpuwizApp
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
SNAPSHOT_STATE = "/tmp/gpuwiz-test-no-color-state"  # fixed: the log's path is on the snapshot


def simulating_app(profile: str, state: str, **kw) -> GpuwizApp:
    host = ProfileHost(load_profile(profile, {"HOME": "/nonexistent"}), simulate_steps=True)
    env = {"XDG_STATE_HOME": state, "HOME": "/nonexistent"}
    return GpuwizApp(host=host, profile_name=profile, user_env=env, **kw)


async def settled(pilot) -> None:
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)
    await pilot.pause()


@SIZES
def test_focused_choice_no_color_sizes(snap_compare, no_color, size):
    """The focused pane's heavy border and the focused choice reversed, at both sizes."""

    async def to_choice(pilot) -> None:
        await probed(pilot)
        await pilot.press("tab", "tab")
        await pilot.pause()

    assert snap_compare(make_app("fresh-rtx3060"), terminal_size=size, run_before=to_choice)


@SIZES
def test_change_summary_no_color(snap_compare, no_color, size, tmp_path):
    """The run question's change summary: the reboot in a warning's weight."""

    async def ask(pilot) -> None:
        await settled(pilot)
        await pilot.press("2", "x")
        await pilot.pause()

    assert snap_compare(simulating_app("fresh-rtx3060", str(tmp_path)), terminal_size=size, run_before=ask)


@SIZES
@pytest.mark.parametrize("keys", [["l"], ["l", "question_mark"]], ids=["log", "log-help"])
def test_log_viewer_no_color(snap_compare, no_color, monkeypatch, size, keys):
    """After the driver layer's run: its log (the reboot in weight), and the viewer's own help."""
    import shutil

    import gpuwiz.backends.runs.run_log as run_log
    from gpuwiz.screens.run import RunScreen

    shutil.rmtree(SNAPSHOT_STATE, ignore_errors=True)
    monkeypatch.setattr(run_log.time, "strftime", lambda fmt, *a: "20260101-000000")

    async def view(pilot) -> None:
        await settled(pilot)
        await pilot.press("2", "x", "y")
        for _ in range(100):
            await settled(pilot)
            screen = pilot.app.screen
            if isinstance(screen, RunScreen) and screen.outcome is not None and not screen.running:
                break
        await pilot.press(*keys)
        await pilot.pause()

    assert snap_compare(simulating_app("fresh-rtx3060", SNAPSHOT_STATE), terminal_size=size, run_before=view)


@SIZES
def test_no_unicode_no_color(snap_compare, no_color, size):
    """--no-unicode with NO_COLOR: ASCII only, the focused list's border still heavier (#==#)."""
    assert snap_compare(make_app("fresh-rtx3060", ascii_only=True), terminal_size=size, run_before=probed)
