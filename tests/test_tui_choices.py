"""The choices on a layer screen, driven by keys as a user would (Textual pilot)."""

from __future__ import annotations

import asyncio
import io

from test_snapshots import make_app, probed
from textual.widgets import Select, Static

from gpuwiz.screens.confirm import ConfirmScreen
from gpuwiz.screens.layers import LayersScreen


def plan_text(app) -> str:
    from rich.console import Console

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(app.screen.query_one("#plan-view", Static).content)
    return console.export_text()


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_removing_the_driver_asks_first_and_no_keeps_it():
    async def go():
        app = make_app("homelab-ready")
        async with app.run_test(size=(80, 24)) as pilot:
            await probed(pilot)
            await pilot.press("2", "tab", "tab")
            assert app.focused.id == "choice-driver-action"
            await pilot.press("enter", "down", "enter")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("n")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, LayersScreen)
            assert screen.query_one("#choice-driver-action", Select).value == "keep"
            assert screen.picks == {} and "purge" not in plan_text(app)

            await pilot.press("enter", "down", "enter")
            await pilot.pause()
            await pilot.press("y")
            await settle(pilot)
            assert screen.picks == {"driver.action": "remove"}
            assert [s.id for s in screen.plan.steps][:2] == ["driver.purge-packages", "driver.autoremove"]
            assert "apt-get purge" in plan_text(app)

    asyncio.run(go())


def test_a_branch_ubuntu_lacks_comes_from_the_cuda_repo_and_the_method_can_change():
    async def go():
        app = make_app("fresh-rtx3060")
        async with app.run_test(size=(80, 24)) as pilot:
            await probed(pilot)
            await pilot.press("2", "tab", "tab", "tab")
            assert app.focused.id == "choice-driver-branch"
            await pilot.press("enter", "home", "enter")  # R610: not packaged by Ubuntu here
            await settle(pilot)
            screen = app.screen
            # it comes from NVIDIA's repository then, and the plan says so
            assert screen.query_one("#choice-driver-branch", Select).value == "610"
            assert screen.picks == {"driver.branch": "610"}
            assert "branch R610" in plan_text(app) and "Ubuntu offers no R610" in plan_text(app)
            await pilot.press("enter", "end", "enter")  # back to R535
            await settle(pilot)
            assert screen.picks == {"driver.branch": "535"}

            await pilot.press("shift+tab", "enter", "down", "enter")  # method: NVIDIA's CUDA repository
            await settle(pilot)
            assert screen.picks == {"driver.branch": "535", "driver.method": "cuda-repo"}
            assert "cuda-drivers-535" in plan_text(app)

    asyncio.run(go())
