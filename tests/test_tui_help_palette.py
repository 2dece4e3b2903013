"""Where am I: the layer the wizard opens on, each screen's own help, the command palette, and the
monitor on a machine without an NVIDIA GPU (Pilot, 80×24)."""

from __future__ import annotations

import asyncio

import pytest
from textual.binding import Binding

from gpuwiz.app import GpuwizApp, key_names, screen_commands
from gpuwiz.backends.findings import LAYERS
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile
from gpuwiz.screens.help import HelpScreen
from gpuwiz.screens.layers import LayersScreen
from gpuwiz.screens.monitor import MonitorConfig, MonitorScreen
from gpuwiz.screens.rollback import RollbackScreen
from gpuwiz.screens.run import RunScreen
from gpuwiz.screens.run_confirm import RunConfirmScreen
from gpuwiz.screens.text_view import TextViewScreen


def make_app(profile: str, **kw) -> GpuwizApp:
    return GpuwizApp(host=ProfileHost(load_profile(profile, {"HOME": "/nonexistent"})), profile_name=profile, **kw)


async def probed(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize(
    "profile, layer",
    [
        ("fresh-rtx3060", "driver"),
        ("rocky9-l4", "driver"),
        ("k8s-plugin-failing", "k8s"),
        ("homelab-ready", "hardware"),
        ("laptop-mx150", "hardware"),
    ],
)
def test_opens_on_the_first_layer_that_needs_work(profile, layer):
    async def go():
        app = make_app(profile)
        async with app.run_test(size=(80, 24)) as pilot:
            await probed(pilot)
            screen = app.screen
            assert isinstance(screen, LayersScreen)
            return screen._current().value

    assert asyncio.run(go()) == layer


def test_a_resumed_run_opens_on_its_layer(monkeypatch):
    from types import SimpleNamespace

    stopped = SimpleNamespace(next_step=1, steps=("driver.install", "runtime.configure"), selections={})
    monkeypatch.setattr(GpuwizApp, "_resumable_run", lambda self: stopped)
    monkeypatch.setattr(GpuwizApp, "_offer_resume", lambda self, layers, state: None)

    async def go():
        app = make_app("fresh-rtx3060")
        async with app.run_test(size=(80, 24)) as pilot:
            await probed(pilot)
            return app.screen._current().value

    assert asyncio.run(go()) == "runtime"


def test_moving_before_the_probe_ends_is_kept():
    async def go():
        app = make_app("fresh-rtx3060")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("4")
            await probed(pilot)
            return app.screen._current().value

    assert asyncio.run(go()) == "runtime"


def _keys_in(text: str, binding: Binding) -> bool:
    names = key_names(binding).split(" / ")
    return all(name in text or (name.isdigit() and f"1-{len(LAYERS)}" in text) for name in names)


HELPED = [LayersScreen, RunScreen, MonitorScreen, TextViewScreen, RunConfirmScreen, RollbackScreen]


@pytest.mark.parametrize("screen", HELPED)
def test_each_screen_has_its_own_help_listing_every_key_it_binds(screen):
    text = screen.HELP_TEXT
    for binding in [*screen.BINDINGS, *GpuwizApp.BINDINGS]:
        assert _keys_in(text, binding), f"{screen.__name__}'s help leaves out {binding.key} ({binding.action})"
    assert "ctrl+p" in text
    others = set(HELPED) - {screen}
    assert all(other.HELP_TEXT != text for other in others)


def test_help_in_the_text_viewer_is_the_viewers():
    from gpuwiz.screens.help import TEXT_VIEW_HELP_TEXT

    async def go():
        app = make_app("fresh-rtx3060")
        async with app.run_test(size=(80, 24)) as pilot:
            await probed(pilot)
            app.push_screen(TextViewScreen("Diff (edit): /etc/x", ["--- /etc/x", "+++ /etc/x", "+" + "y" * 200]))
            await pilot.pause()
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            text = app.screen.text
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, TextViewScreen)
            body = app.screen.query_one("#textview-body")
            assert body.max_scroll_x > 100  # the long line is not wrapped: it scrolls sideways
            await pilot.press("right")
            await pilot.pause()
            assert body.scroll_x > 0
            return text

    assert asyncio.run(go()) == TEXT_VIEW_HELP_TEXT


def _non_ascii(app) -> set[str]:
    import html
    import re

    text = html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot()))
    return {c for c in text if not c.isascii() and c != "\xa0"}  # the SVG's spaces are no-break ones


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_no_unicode_draws_every_screen_in_ascii(size, tmp_path):
    """--no-unicode: the header's icon, borders, marks, arrows, scrollbars, an open Select, the help,
    the run confirmation, the run screen and its log viewer: nothing but ASCII on the screen."""
    host = ProfileHost(load_profile("fresh-rtx3060", {"HOME": "/nonexistent"}), simulate_steps=True)
    app = GpuwizApp(
        host=host,
        profile_name="fresh-rtx3060",
        user_env={"XDG_STATE_HOME": str(tmp_path), "HOME": "/nonexistent"},
        ascii_only=True,
    )
    seen: dict[str, set[str]] = {}

    async def go():
        async with app.run_test(size=size) as pilot:
            await probed(pilot)
            for keys, what in (
                ([], "layers"),
                (["1"], "hardware"),
                (["3"], "toolkit"),
                (["5"], "k8s"),
                (["2", "tab", "tab", "tab", "enter"], "an open choice"),
                (["escape", "question_mark"], "help"),
                (["escape", "x"], "run confirmation"),
                (["y"], "run screen"),
                (["l"], "log viewer"),
                (["question_mark"], "log viewer help"),
            ):
                await pilot.press(*keys)
                for _ in range(3):
                    await pilot.app.workers.wait_for_complete()
                    await pilot.pause(0.05)
                seen[what] = _non_ascii(app)

    asyncio.run(go())
    assert seen == {what: set() for what in seen}


def test_the_monitors_no_unicode_reaches_its_help_too():
    app = make_app("dgx-h100x8", monitor=MonitorConfig(standalone=True, unicode=False))

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            return _non_ascii(app)

    assert asyncio.run(go()) == set()


def test_help_on_the_monitor_is_the_monitors():
    async def go():
        app = make_app("dgx-h100x8", monitor=MonitorConfig(standalone=True))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            return app.screen.text

    assert asyncio.run(go()) == MonitorScreen.HELP_TEXT


def test_the_palette_holds_the_wizards_actions_with_their_keys():
    async def go():
        app = make_app("fresh-rtx3060")
        async with app.run_test(size=(80, 24)) as pilot:
            await probed(pilot)
            titles = [c.title for c in app.get_system_commands(app.screen)]
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"Kubernetes")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await pilot.pause()
            await probed(pilot)
            return titles, app.screen._current().value

    titles, layer = asyncio.run(go())
    for title in ["Re-probe (r)", "Run plan (x)", "Save answers (a)", "Monitor (m)", "Go to layer 5: Kubernetes (5)"]:
        assert title in titles
    assert "Quit (q)" in titles or "Quit" in titles  # Textual's own stay too
    assert layer == "k8s"


def test_the_palette_on_the_monitor_offers_only_what_can_run():
    async def go():
        app = make_app("no-gpu", monitor=MonitorConfig(standalone=True))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.5)
            return [c.title for c in screen_commands(app.screen)]

    titles = asyncio.run(go())
    assert "Close (q)" in titles and "Pause (p)" in titles
    assert not [t for t in titles if t.startswith(("Sort", "GPU", "User", "TERM", "KILL", "Graph"))]


def test_the_monitor_without_an_nvidia_gpu_says_so_and_hides_what_cannot_work():
    async def go():
        app = make_app("no-gpu", monitor=MonitorConfig(standalone=True))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.5)
            screen = app.screen
            text = "\n".join(line.plain for line in screen.query_one("#monitor-lines").lines)
            shown = {b.binding.key for b in screen.active_bindings.values() if b.enabled and b.binding.show}
            return text, shown, [screen.check_action(a, ()) for a in ("sort", "gpu_filter", "signal", "metric")]

    text, shown, allowed = asyncio.run(go())
    assert "No NVIDIA GPU on this machine's PCI bus" in text
    assert "install the driver" not in text.lower()
    assert not shown & {"s", "f", "u", "t", "m"}
    assert allowed == [False] * 4


def test_the_monitor_header_keeps_the_clock_and_paused_at_80():
    async def go():
        app = make_app("dgx-h100x8", monitor=MonitorConfig(standalone=True))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.5)
            await pilot.press("p")
            await pilot.pause()
            return app.screen.query_one("#monitor-lines").lines[0].plain

    head = asyncio.run(go())
    assert head.rstrip().endswith("PAUSED") and ":" in head and len(head) <= 80
