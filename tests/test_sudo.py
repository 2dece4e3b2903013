"""The non-root paths: root commands through sudo (-n, or -S with the password asked once), files
only root may write staged with `sudo install` + `sudo mv`, and the password never in a log.

CI runs as root; these tests act as uid 1000 (`RealHost(euid=1000)`) with a stand-in `sudo` on
PATH that wants the password "open-sesame" on stdin for -S and says "a password is required" for
-n unless told it is passwordless — the same answers real sudo gives.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

import pytest

from gpuwiz.backends.findings import Layer
from gpuwiz.backends.machine.host import RealHost
from gpuwiz.backends.runs.executor import Executor, RunStatus
from gpuwiz.backends.runs.plan import FileEdit, Plan, Step
from gpuwiz.backends.runs.run_log import RunLog

PASSWORD = "open-sesame"

FAKE_SUDO = f"""#!{sys.executable}
import os, sys
args = sys.argv[1:]
with open(os.environ["SUDO_CALLS"], "a") as log:
    log.write(" ".join(args) + "\\n")
if args[0] == "-n":
    if not os.environ.get("SUDO_PASSWORDLESS"):
        print("sudo: a password is required", file=sys.stderr)
        sys.exit(1)
    args = args[1:]
elif args[0] == "-S":
    args = args[3:]  # -S -p ''
    password = b""
    while not password.endswith(b"\\n"):  # byte by byte, as sudo does: the rest is the command's
        byte = os.read(0, 1)
        if not byte:
            break
        password += byte
    if password.rstrip(b"\\n") != {PASSWORD!r}.encode():
        print("Sorry, try again.", file=sys.stderr)
        sys.exit(1)
if args and args[0] == "--":
    args = args[1:]
if args in (["-v"], ["true"]):
    sys.exit(0)
os.execvp(args[0], args)
"""


@pytest.fixture
def user_env(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sudo = bin_dir / "sudo"
    sudo.write_text(FAKE_SUDO)
    sudo.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    env["SUDO_CALLS"] = str(tmp_path / "sudo-calls")
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env.pop("SUDO_PASSWORDLESS", None)
    return env


def calls(env) -> list[str]:
    path = Path(env["SUDO_CALLS"])
    return path.read_text().splitlines() if path.exists() else []


def test_modes(user_env):
    assert RealHost(user_env, euid=0).sudo_mode() == "root"
    host = RealHost(user_env, euid=1000)
    assert host.sudo_mode() == "password"
    assert host.set_sudo_password("wrong") is False and host.secrets == ()
    assert host.set_sudo_password(PASSWORD) is True and host.secrets == (PASSWORD,)
    assert RealHost({**user_env, "SUDO_PASSWORDLESS": "1"}, euid=1000).sudo_mode() == "passwordless"
    no_sudo = {**user_env, "PATH": "/nonexistent"}
    assert RealHost(no_sudo, euid=1000).sudo_mode() == "none"


def test_root_commands_go_through_sudo(user_env):
    host = RealHost({**user_env, "SUDO_PASSWORDLESS": "1"}, euid=1000)
    assert host.run(("id", "-u"), root=True).ok
    assert calls(user_env)[-1] == "-n -- id -u"
    assert host.run(("id", "-u")).ok and calls(user_env)[-1] == "-n -- id -u"  # plain steps: no sudo
    host = RealHost(user_env, euid=1000)
    host.set_sudo_password(PASSWORD)
    result = host.run(("cat",), root=True, input="through sudo\n")
    assert result.stdout == "through sudo\n"  # the password went to sudo, the rest to the command
    assert calls(user_env)[-1] == "-S -p  -- cat"


def test_a_file_only_root_may_write(user_env, tmp_path, monkeypatch):
    """As a user: the file is staged and moved into place with sudo, mode and owner kept, backed up."""
    etc = tmp_path / "etc"
    etc.mkdir()
    target = etc / "daemon.json"
    target.write_text("{}\n")
    target.chmod(0o640)
    host = RealHost({**user_env, "SUDO_PASSWORDLESS": "1"}, euid=1000)
    monkeypatch.setattr("gpuwiz.backends.machine.host._writable", lambda path: False)  # root-owned, as in /etc
    result = host.write_text(str(target), '{"runtimes": {}}\n')
    assert target.read_text() == '{"runtimes": {}}\n' and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert result.backup and Path(result.backup).read_text() == "{}\n"
    assert not Path(f"{target}.gpuwiz-tmp").exists()
    used = [c.split(" -- ", 1)[1].split()[0] for c in calls(user_env)]
    assert used == ["cp", "install", "mv"]
    new = etc / "conf.d" / "99-nvidia.toml"
    assert host.write_text(str(new), "x\n").backup is None and new.read_text() == "x\n"
    assert stat.S_IMODE(new.stat().st_mode) == 0o644


def test_a_refused_sudo_write_fails_the_step_and_changes_nothing(user_env, tmp_path, monkeypatch):
    target = tmp_path / "c.toml"
    target.write_text("old\n")
    monkeypatch.setattr("gpuwiz.backends.machine.host._writable", lambda path: False)
    host = RealHost(user_env, euid=1000)  # sudo wants a password nobody gave
    step = Step("t.w", "write", Layer.RUNTIME, edit=FileEdit(str(target), "new\n", "old\n"))
    outcome = Executor(host, Plan((step,)), emit=lambda e: None).run()
    assert outcome.status is RunStatus.FAILED and "a password is required" in outcome.failure
    assert target.read_text() == "old\n"


def test_the_password_is_never_logged(user_env, tmp_path):
    host = RealHost(user_env, euid=1000)
    host.set_sudo_password(PASSWORD)
    log = RunLog(tmp_path / "run.log", secrets=host.secrets)
    # a command that prints what it read on stdin: were the password passed on, it would show
    step = Step("t.echo", "echo", Layer.DRIVER, argv=(sys.executable, "-c", f"print({PASSWORD!r})"))
    outcome = Executor(host, Plan((step,)), emit=lambda e: None, log=log).run()
    log.close()
    text = (tmp_path / "run.log").read_text()
    assert outcome.status is RunStatus.DONE
    assert PASSWORD not in text and "REDACTED" in text


def test_the_wizard_asks_for_the_password_once(user_env, tmp_path, monkeypatch):
    from gpuwiz.app import GpuwizApp
    from gpuwiz.screens.layers import LayersScreen
    from gpuwiz.screens.run import RunScreen

    target = tmp_path / "wizard.conf"
    monkeypatch.setattr("gpuwiz.backends.machine.host._writable", lambda path: False)
    host = RealHost(user_env, euid=1000)
    app = GpuwizApp(host=host)
    plan = Plan((Step("driver.t", "write", Layer.DRIVER, edit=FileEdit(str(target), "x\n")),))

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.app.workers.wait_for_complete()
            screen = pilot.app.screen
            assert isinstance(screen, LayersScreen)
            screen.plan = plan
            screen.action_choose(1)
            await pilot.press("x", "y")
            await pilot.pause()
            assert pilot.app.screen.__class__.__name__ == "PasswordScreen"
            await pilot.press(*"wrong", "enter")
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            assert "try again" in str(pilot.app.screen.query_one("#password-hint").render())
            await pilot.press(*PASSWORD, "enter")
            await pilot.app.workers.wait_for_complete()
            await pilot.pause(0.2)
            assert isinstance(pilot.app.screen, RunScreen)
            await pilot.app.workers.wait_for_complete()
            await pilot.pause(0.2)
            assert pilot.app.screen.outcome.status is RunStatus.DONE

    asyncio.run(go())
    assert target.read_text() == "x\n" and host.secrets == (PASSWORD,)
