"""apt's own output read as progress (a real `apt-get install` transcript, shortened)."""

from __future__ import annotations

from gpuwiz.backends.packages.apt_progress import AptProgress

# apt-get's output format (Ubuntu 22.04's apt 2.4) for the toolkit's four packages from NVIDIA's
# repository: the summary, four downloads, then unpack and set up. Sizes and counts are illustrative.
TRANSCRIPT = """Reading package lists...
Building dependency tree...
Reading state information...
The following NEW packages will be installed:
  libnvidia-container-tools libnvidia-container1 nvidia-container-toolkit nvidia-container-toolkit-base
0 upgraded, 4 newly installed, 0 to remove and 12 not upgraded.
Need to get 5,993 kB of archives.
After this operation, 27.5 MB of additional disk space will be used.
Get:1 https://nvidia.github.io/libnvidia-container/stable/deb/amd64  libnvidia-container1 1.17.8-1 [925 kB]
Get:2 https://nvidia.github.io/libnvidia-container/stable/deb/amd64  libnvidia-container-tools 1.17.8-1 [20.8 kB]
Get:3 https://nvidia.github.io/libnvidia-container/stable/deb/amd64  nvidia-container-toolkit-base 1.17.8-1 [3,795 kB]
Get:4 https://nvidia.github.io/libnvidia-container/stable/deb/amd64  nvidia-container-toolkit 1.17.8-1 [1,253 kB]
Fetched 5,993 kB in 1s (5,120 kB/s)
Selecting previously unselected package libnvidia-container1:amd64.
(Reading database ... 74212 files and directories currently installed.)
Preparing to unpack .../libnvidia-container1_1.17.8-1_amd64.deb ...
Unpacking libnvidia-container1:amd64 (1.17.8-1) ...
Unpacking libnvidia-container-tools (1.17.8-1) ...
Unpacking nvidia-container-toolkit-base (1.17.8-1) ...
Unpacking nvidia-container-toolkit (1.17.8-1) ...
Setting up nvidia-container-toolkit-base (1.17.8-1) ...
Setting up libnvidia-container1:amd64 (1.17.8-1) ...
Setting up libnvidia-container-tools (1.17.8-1) ...
Setting up nvidia-container-toolkit (1.17.8-1) ...
Processing triggers for libc-bin (2.35-0ubuntu3.8) ...
"""


def test_progress_follows_apt():
    progress = AptProgress()
    seen = []
    for line in TRANSCRIPT.splitlines():
        progress.feed(line)
        seen.append((progress.fraction, progress.label))
    assert seen[0] == (None, "")  # nothing known before the summary
    fractions = [f for f, _ in seen if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert progress.packages == 4 and progress.fetched == 4
    assert any(label == "unpacking 2/4 packages" for _, label in seen)
    assert seen[-1][1] == "setting up 4/4 packages"


def test_other_commands_show_no_bar():
    progress = AptProgress()
    for line in ("Hit:1 http://archive.ubuntu.com/ubuntu jammy InRelease", "Reading package lists..."):
        progress.feed(line)
    assert progress.fraction is None


def test_the_run_screen_shows_a_package_bar():
    import asyncio
    from dataclasses import replace

    from gpuwiz.app import GpuwizApp
    from gpuwiz.backends.findings import Layer
    from gpuwiz.backends.machine.profile_host import ProfileHost
    from gpuwiz.backends.machine.profiles import CommandAnswer, load_profile
    from gpuwiz.backends.runs.plan import Plan, Step
    from gpuwiz.screens.run import RunScreen

    profile = load_profile("laptop-mx150", {"HOME": "/nonexistent"})
    argv = ("apt-get", "install", "-y", "nvidia-container-toolkit")
    commands = {**profile.commands, "apt-get install -y nvidia-container-toolkit": CommandAnswer(TRANSCRIPT)}
    app = GpuwizApp(host=ProfileHost(replace(profile, commands=commands)), profile_name="laptop-mx150")
    plan = Plan((Step("toolkit.install", "Install the toolkit", Layer.TOOLKIT, argv=argv),))

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.app.workers.wait_for_complete()
            pilot.app.push_screen(RunScreen(plan, title="toolkit"))
            await pilot.app.workers.wait_for_complete()
            await pilot.pause(0.2)
            bar = pilot.app.screen.query_one("#run-apt")
            assert bar.display and bar.progress == 100

    asyncio.run(go())
