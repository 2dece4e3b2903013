"""The choices on a layer screen, driven by keys as a user would (Textual pilot)."""

from __future__ import annotations

import asyncio
import io

import pytest
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


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


def test_a_branch_ubuntu_lacks_chooses_the_cuda_repo_and_says_so():
    async def go():
        app = make_app("fresh-rtx3060")
        async with app.run_test(size=(80, 24)) as pilot:
            await probed(pilot)
            await pilot.press("2", "tab", "tab", "tab")
            assert app.focused.id == "choice-driver-branch"
            await pilot.press("enter", "home", "enter")  # R610: not packaged by Ubuntu here
            await settle(pilot)
            screen = app.screen
            # it comes from NVIDIA's repository: the method row shows it, a notice says it
            assert screen.query_one("#choice-driver-branch", Select).value == "610"
            assert screen.query_one("#choice-driver-method", Select).value == "cuda-repo"
            assert screen.picks == {"driver.branch": "610", "driver.method": "cuda-repo"}
            assert "Driver branch R610 needs Install method NVIDIA CUDA repo: chosen with it." in notices(app)
            assert "branch R610" in plan_text(app) and "Ubuntu offers no" not in plan_text(app)

            await pilot.press("shift+tab", "enter", "home", "enter")  # back to Ubuntu's method
            await settle(pilot)
            assert screen.picks == {"driver.branch": "535", "driver.method": "ubuntu-drivers"}
            assert screen.query_one("#choice-driver-branch", Select).value == "535"
            assert any("Driver branch is R535 now" in n for n in notices(app))
            assert "ubuntu-drivers install nvidia:535" in plan_text(app)

            await pilot.press("enter", "down", "enter")  # method: NVIDIA's CUDA repository
            await settle(pilot)
            assert screen.picks == {"driver.branch": "535", "driver.method": "cuda-repo"}
            assert "cuda-drivers-535" in plan_text(app)

    asyncio.run(go())


def _profiles() -> list[str]:
    from gpuwiz.backends.machine.profiles import available_profiles

    return [name for name, _ in available_profiles({"HOME": "/nonexistent"})]


@pytest.mark.parametrize("profile", _profiles())
def test_every_method_and_branch_is_taken_or_marked(profile):
    """Every install method × every branch × every flavour the driver layer lists, picked in that
    order as in the wizard: the plan takes it, with the method the method row shows (no silent
    switch to another method), and what a repo-only option changed is said."""
    from gpuwiz.backends.doctor import run_doctor
    from gpuwiz.backends.machine.profile_host import ProfileHost
    from gpuwiz.backends.machine.profiles import load_profile
    from gpuwiz.backends.planners.choices import with_pick
    from gpuwiz.backends.planners.registry import build_plan, offered_choices

    report = run_doctor(ProfileHost(load_profile(profile, {"HOME": "/nonexistent"})))
    choices = offered_choices(report)
    by_key = {c.key: c for c in choices}
    if "driver.branch" not in by_key:
        return
    methods = by_key["driver.method"].values if "driver.method" in by_key else ("",)
    for option in (*by_key["driver.branch"].options, *by_key["driver.flavour"].options):
        assert ("repo only" in option.note) == bool(option.requires), option
    for method in methods:
        for branch in by_key["driver.branch"].options:
            for flavour in by_key["driver.flavour"].values:
                picks: dict[str, str] = {}
                said: list[str] = []
                for key, value in (("driver.method", method), ("driver.branch", branch.value)):
                    if value:
                        picks, more = with_pick(choices, picks, key, value)
                        said += more
                picks, more = with_pick(choices, picks, "driver.flavour", flavour)
                said += more
                if method and branch.requires and method != "cuda-repo":
                    assert picks["driver.method"] == "cuda-repo" and said, (method, branch)
                plan = build_plan(report, picks, source="choices", layers_alone=True)
                assert not any("Install method NVIDIA CUDA repo:" in n.text for n in plan.notes), picks
