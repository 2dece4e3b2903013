"""The non-root paths against the real sudo: a user this test creates, with a password sudo asks for.

CI and these machines run as root. The test creates a user with a password and a sudoers entry
that asks for it, and makes every `sudo` gpuwiz runs go through `runuser -u USER -- sudo …`, so the
real sudo judges gpuwiz's exact command lines and stdin as it would for that user: `sudo -n true`
says a password is needed, `sudo -S -p '' -v` refuses a wrong password and takes the right one, root
commands run with it on stdin, a root-only file is staged with `sudo install` and renamed with
`sudo mv` (owner, mode and a backup kept), and the password never reaches the run's log. (gpuwiz's
Python stays root here: root's interpreter under /root is not readable by another user.)
Everything it creates is removed afterwards. Skips without root, sudo, useradd or runuser
(.ci/install-system-deps.sh installs sudo).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from gpuwiz.backends.findings import Layer
from gpuwiz.backends.machine.host import RealHost
from gpuwiz.backends.runs.executor import Executor, RunStatus
from gpuwiz.backends.runs.plan import FileEdit, Plan, Step
from gpuwiz.backends.runs.run_log import RunLog

USER = "gpuwiz-nonroot"
PASSWORD = "Correct-Horse-7"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="creates a user: needs root"),
    pytest.mark.skipif(
        not all(shutil.which(t) for t in ("sudo", "useradd", "userdel", "runuser", "chpasswd")),
        reason="needs sudo, useradd, runuser, chpasswd (.ci/install-system-deps.sh installs sudo)",
    ),
]


@pytest.fixture
def as_user(tmp_path, monkeypatch):
    """A RealHost acting as a new user whose sudo asks for PASSWORD."""
    subprocess.run(["userdel", "-r", USER], capture_output=True)
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", USER], check=True)
    subprocess.run(["chpasswd"], input=f"{USER}:{PASSWORD}\n", text=True, check=True)
    sudoers = Path(f"/etc/sudoers.d/{USER}")
    sudoers.write_text(f"{USER} ALL=(ALL) ALL\n")
    sudoers.chmod(0o440)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "sudo"
    wrapper.write_text(f'#!/bin/sh\nexec runuser -u {USER} -- {shutil.which("sudo")} "$@"\n')
    wrapper.chmod(0o755)
    uid = int(subprocess.run(["id", "-u", USER], capture_output=True, text=True, check=True).stdout)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "XDG_STATE_HOME": str(tmp_path / "state")}
    monkeypatch.setattr("gpuwiz.backends.machine.host._writable", lambda path: False)  # as the user: /etc is root's
    try:
        yield RealHost(env, euid=uid)
    finally:
        sudoers.unlink(missing_ok=True)
        subprocess.run(["userdel", "-r", USER], capture_output=True)


def test_password_sudo_for_real(as_user, tmp_path):
    host = as_user
    assert host.sudo_mode() == "password"  # the real `sudo -n true`: "a password is required"
    assert host.set_sudo_password("not-it") is False
    assert host.set_sudo_password(PASSWORD) is True
    assert host.run(("id", "-u"), root=True).stdout.strip() == "0"
    assert host.run(("cat",), root=True, input="stdin after the password\n").stdout == "stdin after the password\n"

    etc = tmp_path / "etc"
    etc.mkdir()
    target = etc / "daemon.json"
    target.write_text("{}\n")
    target.chmod(0o640)
    log = RunLog(tmp_path / "run.log", secrets=host.secrets)
    plan = Plan(
        (
            Step("t.edit", "configure", Layer.RUNTIME, edit=FileEdit(str(target), '{"runtimes": {}}\n', "{}\n")),
            Step("t.id", "who am I as root", Layer.RUNTIME, argv=("id", "-un")),
        )
    )
    outcome = Executor(host, plan, emit=lambda e: None, log=log).run()
    log.close()
    assert outcome.status is RunStatus.DONE, outcome.failure
    assert target.read_text() == '{"runtimes": {}}\n'
    st = target.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o640)
    assert outcome.writes[0].backup and Path(outcome.writes[0].backup).read_text() == "{}\n"
    text = (tmp_path / "run.log").read_text()
    assert "| root" in text and PASSWORD not in text


def test_no_password_means_nothing_runs(as_user, tmp_path):
    target = tmp_path / "c.toml"
    target.write_text("old\n")
    step = Step("t.edit", "configure", Layer.RUNTIME, edit=FileEdit(str(target), "new\n", "old\n"))
    outcome = Executor(as_user, Plan((step,)), emit=lambda e: None).run()
    assert outcome.status is RunStatus.FAILED and "password is required" in outcome.failure
    assert target.read_text() == "old\n"
