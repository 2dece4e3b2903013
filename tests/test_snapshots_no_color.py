"""Snapshots with NO_COLOR set: focus and severity must show in weight and shape (bold, reverse,
heavy borders, the marks), since Textual turns every colour into a grey (tui/severity.py)."""

from __future__ import annotations

import pytest

from gpuwiz.app import GpuwizApp
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile


def make_app(profile: str, **kw) -> GpuwizApp:
    return GpuwizApp(host=ProfileHost(load_profile(profile, {"HOME": "/nonexistent"})), profile_name=profile, **kw)


async def probed(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_failing_layer_no_color(snap_compare, no_color, size):
    """fresh-rtx3060 opens on its failing driver layer: ✗ and FAIL reversed, the list's heavy border."""
    assert snap_compare(make_app("fresh-rtx3060"), terminal_size=size, run_before=probed)


def test_focused_choice_no_color(snap_compare, no_color):
    async def to_choice(pilot) -> None:
        await probed(pilot)
        await pilot.press("tab", "tab")
        await pilot.pause()

    assert snap_compare(make_app("fresh-rtx3060"), terminal_size=(80, 24), run_before=to_choice)


@pytest.mark.parametrize("keys", [[], ["m", "p"]], ids=["plain", "graph-paused"])
def test_monitor_no_color(snap_compare, no_color, keys):
    """A memory bar near full and the values near their limits in weight; m and p visible at 80×24."""
    from test_monitor_tui import monitor_app, sampled, utc  # noqa: F401  (utc: the frozen clock's zone)

    app, _ = monitor_app("dgx-h100x8")

    async def go(pilot) -> None:
        await sampled(pilot)
        await pilot.press(*keys)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=go)
