"""apt's progress: its APT::Status-Fd lines (real transcripts), and its ordinary output where a
command gives none (`ubuntu-drivers install`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuwiz.backends.packages import apt
from gpuwiz.backends.packages.apt_progress import AptProgress, StatusLine, parse_status_line

DATA = Path(__file__).parent / "data" / "apt"


def data(name: str) -> str:
    return (DATA / name).read_bytes().decode()  # dpkg's "\r"s kept, as RealHost passes them on


def lines(name: str) -> list[str]:
    return data(name).split("\n")  # RealHost's lines: dpkg's end in "\r"


def test_status_lines_as_apt_writes_them():
    assert parse_status_line("dlstatus:2:33.1559:Retrieving file 2 of 3") == StatusLine(
        "dlstatus", "2", 33.1559, "Retrieving file 2 of 3"
    )
    assert parse_status_line("pmstatus:gpuwiz-demo-base:7.6923:Unpacking gpuwiz-demo-base (amd64)") == StatusLine(
        "pmstatus", "gpuwiz-demo-base", 7.6923, "Unpacking gpuwiz-demo-base (amd64)"
    )
    clash = data("apt-get-install.status-fd.file-clash.txt")
    error = next(s for s in map(parse_status_line, clash.split("\n")) if s and s.kind == "pmerror")
    assert error.subject == "/tmp/gpuwiz-statusfd/repo/./gpuwiz-demo-clash_1.0-1_all.deb" and error.percent == 20.0
    assert error.text.startswith("trying to overwrite '/usr/share/doc/gpuwiz-demo-base/README', which is")
    # a subject with a colon (an epoch in a .deb's name) and text with colons stay apart
    assert parse_status_line("pmerror:/x/a_1:2.0_all.deb:5.0000:E: x: y") == StatusLine(
        "pmerror", "/x/a_1:2.0_all.deb", 5.0, "E: x: y"
    )
    for other in ("Unpacking gpuwiz-demo (1.0-1) ...\r", "Get:1 file:/x ./ p 1.0 [1 B]", "pmstatus:oops", ""):
        assert parse_status_line(other) is None


def test_status_fd_transcript_moves_the_bar_and_leaves_the_human_lines():
    """A real install of three packages (a throw-away root, apt 2.6.1; tests/data/apt/README.md)."""
    progress = AptProgress()
    seen, shown = [], []
    for line in lines("apt-get-install.status-fd.txt"):
        out = progress.feed(line)
        if out is not None:
            shown.append(out)
        seen.append((progress.fraction, progress.label))
    assert seen[0] == (None, "")
    fractions = [f for f, _ in seen if f is not None]
    assert fractions == sorted(fractions) and 0.9 < fractions[-1] < 1.0
    assert ("Retrieving file 2 of 3" in {label for _, label in seen}) and progress.download == 100.0
    assert seen[-1] == (pytest.approx(1 / 3 + 2 / 3 * 0.923077), "Installed gpuwiz-demo (amd64)")
    assert not any(line.startswith(("dlstatus:", "pmstatus:")) for line in shown)
    assert "Setting up gpuwiz-demo (1.0-1) ...\r" in shown
    assert "Get:3 file:/tmp/gpuwiz-statusfd/repo ./ gpuwiz-demo 1.0-1 [800 B]" in shown
    assert progress.packages == 0  # the ordinary lines are not counted once apt reports itself


def test_dpkg_errors_and_conffile_questions_are_shown():
    for name, note in (
        (
            "apt-get-install.status-fd.file-clash.txt",
            "dpkg failed on /tmp/gpuwiz-statusfd/repo/./gpuwiz-demo-clash_1.0-1_all.deb: trying to overwrite",
        ),
        (
            "apt-get-install.status-fd.conffile.txt",
            "dpkg asks what to do about the changed configuration file /etc/gpuwiz-demo.conf",
        ),
    ):
        progress = AptProgress()
        shown = [out for line in lines(name) if (out := progress.feed(line)) is not None]
        assert any(line.startswith(note) for line in shown), name
        assert not any(line.startswith(("pmerror:", "pmconffile:")) for line in shown)


def test_the_install_steps_ask_apt_for_status_lines():
    step = apt.install_step(["x"], step_id="x", title="x", why="x")
    assert "APT::Status-Fd=1" in step.argv and step.argv[step.argv.index("APT::Status-Fd=1") - 1] == "-o"


# Without status lines (`ubuntu-drivers install` runs apt-get itself): apt-get's output format (Ubuntu 22.04's apt 2.4) for the toolkit's four packages from NVIDIA's
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


def test_progress_follows_apt_without_status_lines():
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
    argv = ("apt-get", "install", "-y", *apt.STATUS_FD, "gpuwiz-demo")
    answer = CommandAnswer(data("apt-get-install.status-fd.txt"))
    commands = {**profile.commands, "apt-get install -y -o APT::Status-Fd=1 gpuwiz-demo": answer}
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
            log = "\n".join(line.text for line in pilot.app.screen.query_one("#run-output").lines)
            assert "Setting up gpuwiz-demo-base" in log and "pmstatus:" not in log and "dlstatus:" not in log

    asyncio.run(go())
