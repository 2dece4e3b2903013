"""The run screen: live output, failure with Retry / Skip, Cancel, and back to the layers."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import RichLog

from gpuwiz.app import GpuwizApp
from gpuwiz.backends.findings import Layer
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile
from gpuwiz.backends.runs.executor import RunStatus
from gpuwiz.backends.runs.plan import FileEdit, Plan, Step
from gpuwiz.screens.run import RunScreen


def app_on(profile: str, *, simulate_steps: bool = False) -> tuple[GpuwizApp, ProfileHost]:
    host = ProfileHost(load_profile(profile, {"HOME": "/nonexistent"}), simulate_steps=simulate_steps)
    return GpuwizApp(host=host, profile_name=profile), host


async def settled(pilot) -> None:
    """Until no worker runs: a finished run starts another (the diagnosis after a failure), so one
    wait_for_complete can return before the second has begun on a busy machine."""
    quiet = 0
    for _ in range(200):
        if quiet >= 3:
            break
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)
        busy = any(not w.is_finished for w in pilot.app.workers) or any(
            log.auto_scroll and log.scroll_y < log.max_scroll_y for log in pilot.app.screen.query(RichLog)
        )
        quiet = 0 if busy else quiet + 1
    await pilot.pause()


def output_of(screen: RunScreen) -> str:
    return "\n".join(line.text for line in screen.query_one("#run-output").lines)


def test_a_plan_that_works_runs_to_the_end():
    app, host = app_on("laptop-mx150")
    plan = Plan(
        (
            Step("t.list", "List the GPUs", Layer.DRIVER, argv=("nvidia-smi", "-L"), needs_root=False),
            Step("t.write", "Write a file", Layer.DRIVER, edit=FileEdit("/etc/gpuwiz-test.conf", "x\n")),
        )
    )

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            results = []
            pilot.app.push_screen(RunScreen(plan, title="test"), results.append)
            await settled(pilot)
            screen = pilot.app.screen
            assert isinstance(screen, RunScreen) and screen.outcome.status is RunStatus.DONE
            assert "GeForce MX150" in output_of(screen)
            assert host.read_text("/etc/gpuwiz-test.conf") == "x\n"
            await pilot.press("q")
            await pilot.pause()
            assert results and results[0].status is RunStatus.DONE

    asyncio.run(go())


def test_failure_then_retry_then_skip_then_back_to_the_layers():
    app, host = app_on("fresh-rtx3060")

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("2", "x")
            await pilot.pause()
            assert pilot.app.screen.__class__.__name__ == "RunConfirmScreen"
            await pilot.press("y")
            await settled(pilot)
            screen = pilot.app.screen
            assert isinstance(screen, RunScreen)
            assert screen.outcome.status is RunStatus.FAILED and screen.outcome.next_index == 1
            assert "not recorded in profile" in output_of(screen)
            assert host.read_text("/etc/modprobe.d/blacklist-nouveau.conf") or host.writes  # step 1 ran
            ran = len(host.commands)
            await pilot.press("r")  # Retry: the failed step again, not the ones before it
            await settled(pilot)
            assert screen.outcome.status is RunStatus.FAILED and screen.outcome.next_index == 1
            assert [c.argv for c in host.commands[ran:]].count(("update-initramfs", "-u")) == 1
            assert len(host.writes) == 1  # the blacklist was not written twice
            await pilot.press("s")
            await settled(pilot)
            assert screen.outcome.next_index >= 2  # went past the skipped step
            await pilot.press("q")
            await settled(pilot)
            assert pilot.app.screen.__class__.__name__ == "LayersScreen"

    asyncio.run(go())


def test_no_answer_runs_nothing():
    app, host = app_on("fresh-rtx3060")

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("2", "x", "n")
            await settled(pilot)
            assert pilot.app.screen.__class__.__name__ == "LayersScreen"
            assert not host.writes and not any(c.argv[0] == "update-initramfs" for c in host.commands)

    asyncio.run(go())


def test_run_screen_failure_snapshot(snap_compare):
    app, _ = app_on("fresh-rtx3060")

    async def run_driver(pilot) -> None:
        await settled(pilot)
        await pilot.press("2", "x", "y")
        await settled(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_driver)


def test_after_a_reboot_the_wizard_offers_to_go_on(tmp_path, monkeypatch):
    import os

    from gpuwiz.backends.machine.host import RealHost
    from gpuwiz.backends.runs.run_state import RunState, load_state, save_state

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    env = dict(os.environ)
    steps = ("driver.blacklist-nouveau", "driver.install", "driver.reboot", "toolkit.install")
    save_state(env, RunState("reboot", 3, steps, selections={"runtime.cdi": "yes"}))
    app = GpuwizApp(host=RealHost(env))

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            screen = pilot.app.screen
            assert screen.__class__.__name__ == "ConfirmScreen"
            assert "after Driver (step 3 of 4 done)" in screen.question and "Container toolkit" in screen.question
            await pilot.press("y")
            await settled(pilot)
            layers = pilot.app.screen
            assert layers.__class__.__name__ == "LayersScreen"
            assert layers.query_one("#layers").highlighted == 2

    asyncio.run(go())
    assert load_state(env).status == "resumed"


@pytest.mark.parametrize(
    "state, said, layer",
    [
        # the wizard runs one layer's plan: its reboot step is the plan's last
        (("reboot", 3, ("driver.blacklist-nouveau", "driver.install", "driver.reboot")), "after Driver", 2),
        (("hung-up", 1, ("toolkit.repo", "toolkit.install")), "when its terminal hung up", 2),
        (("hung-up", 1, ("runtime.edit", "runtime.restart")), "when its terminal hung up", 3),
    ],
)
def test_the_wizard_offers_to_go_on_where_the_last_run_stopped(tmp_path, monkeypatch, state, said, layer):
    import os

    from gpuwiz.backends.machine.host import RealHost
    from gpuwiz.backends.runs.run_state import RunState, save_state

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    save_state(dict(os.environ), RunState(*state))
    app = GpuwizApp(host=RealHost(dict(os.environ)))

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            screen = pilot.app.screen
            assert screen.__class__.__name__ == "ConfirmScreen", "no offer to go on"
            assert said in screen.question
            await pilot.press("y")
            await settled(pilot)
            assert pilot.app.screen.query_one("#layers").highlighted == layer

    asyncio.run(go())


@pytest.mark.parametrize("presses, finished", [(1, True), (2, False)])
def test_cancel_lets_the_step_finish_and_a_second_cancel_stops_it(tmp_path, monkeypatch, presses, finished):
    import os
    import sys

    from gpuwiz.backends.machine.host import RealHost

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    marker = tmp_path / "finished"
    # long enough for a busy CI machine to press c while it runs (1.5 s once was not, under 3.10)
    script = f"import time, pathlib; time.sleep(5); pathlib.Path({str(marker)!r}).touch()"
    plan = Plan(
        (
            Step("driver.slow", "A slow step", Layer.DRIVER, argv=(sys.executable, "-c", script), needs_root=False),
            Step("driver.next", "The next step", Layer.DRIVER, argv=("false",), needs_root=False),
        )
    )
    app = GpuwizApp(host=RealHost(dict(os.environ)))

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            pilot.app.push_screen(RunScreen(plan, title="cancel"))
            await pilot.pause(0.3)
            await pilot.press("q")  # refused while steps run
            await pilot.press("c")
            await pilot.pause()
            assert "c again: stop it now" in str(pilot.app.screen.query_one("#run-status").render())
            if presses == 2:
                await pilot.press("c")
            await pilot.app.action_quit()  # refused too
            await settled(pilot)
            screen = pilot.app.screen
            assert isinstance(screen, RunScreen) and screen.outcome.status is RunStatus.CANCELLED
            assert screen.outcome.next_index == (1 if finished else 0)
            assert f"Cancelled before step {screen.outcome.next_index + 1} of 2" in str(
                screen.query_one("#run-status").render()
            )

    asyncio.run(go())
    assert marker.exists() is finished


def test_a_waiting_step_counts_down():
    from gpuwiz.backends.machine.host import RealHost

    plan = Plan((Step("k8s.wait", "Wait for the GPUs", Layer.K8S, argv=("sleep", "3"), needs_root=False, wait_s=300),))
    app = GpuwizApp(host=RealHost())

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            pilot.app.push_screen(RunScreen(plan, title="wait"))
            await pilot.pause(1.0)
            line = str(pilot.app.screen.query_one("#run-step").render())
            assert "Wait for the GPUs" in line and "s left of 300 s" in line
            await pilot.app.workers.wait_for_complete()

    asyncio.run(go())


def test_run_confirmation_snapshot(snap_compare):
    app, _ = app_on("fresh-rtx3060")

    async def ask(pilot) -> None:
        await settled(pilot)
        await pilot.press("2", "x")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=ask)


def test_run_screen_failure_snapshot_120x40(snap_compare):
    app, _ = app_on("fresh-rtx3060")

    async def run_driver(pilot) -> None:
        await settled(pilot)
        await pilot.press("2", "x", "y")
        await settled(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_driver)


def test_save_answers_snapshot(snap_compare):
    app, _ = app_on("fresh-rtx3060")

    async def ask(pilot) -> None:
        await settled(pilot)
        await pilot.press("a")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=ask)


def test_password_snapshot(snap_compare):
    from gpuwiz.screens.password import PasswordScreen

    app, _ = app_on("fresh-rtx3060")

    async def ask(pilot) -> None:
        await settled(pilot)
        pilot.app.push_screen(PasswordScreen("alice"))
        await pilot.pause()
        await pilot.press(*"secret")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=ask)


async def _password(pilot) -> None:
    from gpuwiz.screens.password import PasswordScreen

    await settled(pilot)
    pilot.app.push_screen(PasswordScreen("alice"))
    await pilot.pause()
    await pilot.press(*"secret")
    await pilot.pause()


async def _remove_driver(pilot) -> None:
    await settled(pilot)
    await pilot.press("2", "tab", "tab", "enter", "down", "enter")
    await pilot.pause()


async def _resume_offer(pilot) -> None:
    from gpuwiz.backends.runs.run_state import RunState

    await settled(pilot)
    steps = ("driver.blacklist-nouveau", "driver.initramfs", "driver.install", "driver.hold")
    pilot.app._offer_resume(pilot.app.screen, RunState("reboot", 4, steps))
    await pilot.pause()


async def _run_done(pilot) -> None:
    await settled(pilot)
    await pilot.press("2", "x", "y")
    await settled(pilot)


# Every modal and run state at both sizes the issue names (80×24 ones not covered elsewhere).
@pytest.mark.parametrize(
    "profile, before, size",
    [
        ("fresh-rtx3060", _resume_offer, (80, 24)),
        ("fresh-rtx3060", _resume_offer, (120, 40)),
        ("laptop-mx150", _run_done, (80, 24)),
        ("laptop-mx150", _run_done, (120, 40)),
        ("fresh-rtx3060", _password, (120, 40)),
        ("homelab-ready", _remove_driver, (120, 40)),
    ],
    ids=["resume-80x24", "resume-120x40", "done-80x24", "done-120x40", "password-120x40", "remove-120x40"],
)
def test_modals_and_run_states(snap_compare, profile, before, size):
    app, _ = app_on(profile, simulate_steps=True)  # as `gpuwiz --profile` runs: plan steps act out
    assert snap_compare(app, terminal_size=size, run_before=before)
