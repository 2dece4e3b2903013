"""Snapshots of the app shell at 80×24 (SVGs in snapshots/test_snapshots/)."""

from __future__ import annotations

import pytest

from gpuwiz.app import GpuwizApp
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile


def make_app(profile: str) -> GpuwizApp:
    return GpuwizApp(host=ProfileHost(load_profile(profile, {"HOME": "/nonexistent"})), profile_name=profile)


async def probed(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


# The hardware (1) and driver (2) screens on the machines issue 3 names, plus the all-green node.
@pytest.mark.parametrize("layer", ["1", "2"])
@pytest.mark.parametrize("profile", ["fresh-rtx3060", "vm-bar1", "dgx-h100x8", "no-gpu", "homelab-ready"])
def test_layer_screen(snap_compare, profile, layer):
    assert snap_compare(make_app(profile), terminal_size=(80, 24), press=[layer], run_before=probed)


def test_driver_plan_preview_fresh(snap_compare):
    """The driver screen scrolled to its plan: the steps that would run, with the diff."""

    async def to_plan(pilot) -> None:
        await probed(pilot)
        await pilot.press("2", "tab", "pagedown")
        await pilot.pause()

    assert snap_compare(make_app("fresh-rtx3060"), terminal_size=(80, 24), run_before=to_plan)


def test_shell_runtime_layer_dgx(snap_compare):
    assert snap_compare(
        make_app("dgx-h100x8"), terminal_size=(80, 24), press=["down", "down", "down"], run_before=probed
    )


def test_shell_k8s_layer_homelab(snap_compare):
    assert snap_compare(make_app("homelab-ready"), terminal_size=(80, 24), press=["5"], run_before=probed)


def test_help(snap_compare):
    assert snap_compare(make_app("laptop-mx150"), terminal_size=(80, 24), press=["question_mark"], run_before=probed)


def test_quit_and_help_keys():
    import asyncio

    async def go():
        app = make_app("no-gpu")
        async with app.run_test(size=(80, 24)) as pilot:
            await probed(pilot)
            await pilot.press("question_mark")
            assert app.screen.__class__.__name__ == "HelpScreen"
            await pilot.press("escape")
            assert app.screen.__class__.__name__ == "LayersScreen"
            await pilot.press("q")
        return app.return_code

    assert asyncio.run(go()) in (0, None)


def test_internal_error_in_the_wizard_is_one_line_and_exit_3(tmp_path):
    """A bug while probing ends the app with one line naming the log, not a traceback."""
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from gpuwiz.backends.machine.profile_host import ProfileHost\n"
        "from gpuwiz.backends.machine.profiles import load_profile\n"
        "from gpuwiz.app import GpuwizApp\n"
        "class Broken(ProfileHost):\n"
        "    def run(self, argv, **kw):\n"
        "        raise RuntimeError('simulated bug')\n"
        "host = Broken(load_profile('homelab-ready', {}))\n"
        "app = GpuwizApp(host=host, profile_name='homelab-ready')\n"
        "app.run(headless=True)\n"
        "print(app.crash_line, file=sys.stderr)\n"
        "sys.exit(app.return_code)\n"
    )
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 3, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "internal error (RuntimeError); details in" in lines[0], done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    log = lines[0].rsplit(" ", 1)[1]
    assert log.startswith(str(tmp_path)) and "simulated bug" in open(log).read()


def test_driver_branch_choice_open(snap_compare):
    """The driver branch list opened from the keyboard: every branch for the card, the recommended one marked."""

    async def open_branch(pilot) -> None:
        await probed(pilot)
        await pilot.press("2", "tab", "tab", "tab", "enter")
        await pilot.pause()

    assert snap_compare(make_app("fresh-rtx3060"), terminal_size=(80, 24), run_before=open_branch)


def test_remove_driver_confirmation(snap_compare):
    async def ask(pilot) -> None:
        await probed(pilot)
        await pilot.press("2", "tab", "tab", "enter", "down", "enter")
        await pilot.pause()

    assert snap_compare(make_app("homelab-ready"), terminal_size=(80, 24), run_before=ask)


def test_driver_screen_rocky(snap_compare):
    """RHEL family: NVIDIA's repository through dnf is the one method; branch and flavour to choose."""
    assert snap_compare(make_app("rocky9-l4"), terminal_size=(80, 24), press=["2"], run_before=probed)


def test_toolkit_screen_outdated_source(snap_compare):
    """laptop-mx150's toolkit list uses a URL NVIDIA answers with 404: the finding, then the rewrite as a diff."""

    async def to_plan(pilot) -> None:
        await probed(pilot)
        await pilot.press("3", "tab", "end")
        await pilot.pause()

    assert snap_compare(make_app("laptop-mx150"), terminal_size=(80, 24), run_before=to_plan)


def test_runtime_screen_plan_diff(snap_compare):
    """A kubeadm node asked to make nvidia the default runtime: the containerd config diff that will be written."""

    async def choose_default(pilot) -> None:
        await probed(pilot)
        await pilot.press("4", "tab", "tab", "enter", "down", "enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("shift+tab", "pagedown")
        await pilot.pause()

    assert snap_compare(make_app("homelab-ready"), terminal_size=(80, 24), run_before=choose_default)


# The Kubernetes screen: no cluster, a cluster without GPU support, a failing plugin (healthy: above).
@pytest.mark.parametrize("profile", ["fresh-rtx3060", "k8s-no-gpu-support", "k8s-plugin-failing"])
def test_k8s_screen(snap_compare, profile):
    assert snap_compare(make_app(profile), terminal_size=(80, 24), press=["5"], run_before=probed)


# The same screens at 120×40: more of the detail shows, nothing is laid out differently by accident.
@pytest.mark.parametrize(
    "keys",
    [["2"], ["3"], ["4"], ["5"], ["question_mark"], ["2", "x"], ["a"]],
    ids=["driver", "toolkit", "runtime", "k8s", "help", "confirm", "answers"],
)
def test_wizard_at_120x40(snap_compare, keys):
    profile = "homelab-ready" if keys == ["5"] else "fresh-rtx3060"
    assert snap_compare(make_app(profile), terminal_size=(120, 40), press=keys, run_before=probed)
