"""An SSH session that drops, or Ctrl+C, during a run: the step in flight (think dpkg) is left to
finish, the next one never starts, and the state file says where the run stopped.

Each test runs gpuwiz's real run path in a terminal of its own (a pty) with a plan of two real
commands: the first prints, waits and leaves a marker file; the second leaves another.
"""

from __future__ import annotations

import os
import pty
import re
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gpuwiz.backends.runs.run_state import load_state

ROOT = Path(__file__).resolve().parents[1]

PLAN = """
import sys
from gpuwiz.backends.findings import Layer
from gpuwiz.backends.runs.plan import Plan, Step

def step(name, script):
    return Step(id=f"driver.{name}", title=name, layer=Layer.DRIVER,
                argv=(sys.executable, "-c", script), needs_root=False)

started = sys.argv[1] + "/first-started"
first = sys.argv[1] + "/first-finished"
second = sys.argv[1] + "/second-ran"
plan = Plan((
    step("first", f"import time, pathlib; pathlib.Path({started!r}).touch(); print('STEP-ONE-RUNNING', flush=True); "
                  f"time.sleep(2); pathlib.Path({first!r}).touch()"),
    step("second", f"import pathlib; pathlib.Path({second!r}).touch()"),
))
"""

TUI = """
import os
import re
from pathlib import Path
import gpuwiz.app
from gpuwiz.backends.machine.host import RealHost
from gpuwiz.app import GpuwizApp
from gpuwiz.screens.run import RunScreen

class RunOnly(GpuwizApp):
    CSS_PATH = str(Path(gpuwiz.app.__file__).parent / GpuwizApp.CSS_PATH)  # not next to this script

    def on_mount(self, event):
        event.prevent_default()  # not the wizard's layers: only the run
        self._watch_terminal()
        self.push_screen(RunScreen(plan, title="two steps"))

RunOnly(host=RealHost(dict(os.environ))).run()
"""

APPLY = """
import os
import re
from gpuwiz.backends.machine.host import RealHost
from gpuwiz.apply_text import run_plan_in_terminal

env = dict(os.environ)
raise SystemExit(run_plan_in_terminal(RealHost(env), plan, env, selections={}, profile=None))
"""


def start_in_terminal(tmp_path: Path, program: str, *, plan: str = PLAN, nohup: bool = False) -> tuple[int, int]:
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(plan) + textwrap.dedent(program))
    pid, fd = pty.fork()
    if pid == 0:  # the child: gpuwiz's run in a terminal of its own
        os.environ.update(TERM="xterm-256color", XDG_STATE_HOME=str(tmp_path / "state"), PYTHONPATH=str(ROOT))
        os.chdir(tmp_path)
        argv = [sys.executable, str(script), str(tmp_path)]
        if nohup:  # the real one: SIGHUP ignored, output to ./nohup.out
            os.execvp("nohup", ["nohup", *argv])
        # an SSH session's process: SIGHUP at its default, even when the tests themselves run under nohup
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        os.execv(sys.executable, argv)
    return pid, fd


def read_until(fd: int, text: bytes, seconds: float = 30, *, file: Path | None = None) -> bytes:
    """Reads the terminal (a child must never block on a full one) until `text` shows, or `file`
    exists (a TUI draws text between escape codes)."""
    import select

    seen = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (file.exists() if file else text in seen):
        if not select.select([fd], [], [], 0.2)[0]:
            continue
        try:
            seen += os.read(fd, 65536)
        except OSError:  # nobody holds the terminal any more (nohup let go of it)
            time.sleep(0.1)
    assert file.exists() if file else text in seen, re.sub(rb"\x1b\[[0-9;?<>=$]*[a-zA-Z]", b"", seen)[-1500:]
    return seen


def wait_exit(pid: int, seconds: float = 20) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("gpuwiz kept running after its terminal hung up")


@pytest.mark.parametrize("program", [TUI, APPLY], ids=["wizard", "apply"])
def test_a_hang_up_lets_the_running_step_finish_then_stops(tmp_path, program):
    pid, fd = start_in_terminal(tmp_path, program)
    read_until(fd, b"", file=tmp_path / "first-started")
    os.close(fd)  # the SSH session drops
    assert wait_exit(pid) == 129
    assert (tmp_path / "first-finished").exists(), "the step in flight was killed"
    assert not (tmp_path / "second-ran").exists(), "the run went on without its terminal"
    state = load_state({"XDG_STATE_HOME": str(tmp_path / "state")})
    assert state is not None and (state.status, state.next_step) == ("hung-up", 1) and state.resumable
    log = Path(state.log).read_text()
    assert "STEP-ONE-RUNNING" in log and "the terminal hung up: stopped before step 2" in log


def test_apply_under_nohup_runs_to_the_end(tmp_path):
    pid, fd = start_in_terminal(tmp_path, APPLY, nohup=True)
    read_until(fd, b"", file=tmp_path / "first-started")
    os.close(fd)
    assert wait_exit(pid) == 0
    assert "all 2 steps done" in (tmp_path / "nohup.out").read_text()
    assert (tmp_path / "first-finished").exists() and (tmp_path / "second-ran").exists()
    assert load_state({"XDG_STATE_HOME": str(tmp_path / "state")}).status == "done"


def test_ctrl_c_in_apply_stops_after_the_step_and_twice_stops_it(tmp_path):
    pid, fd = start_in_terminal(tmp_path, APPLY)
    read_until(fd, b"STEP-ONE-RUNNING")
    os.write(fd, b"\x03")
    seen = read_until(fd, b"cancelled before step 2 of 2")
    assert b"stopping after this step" in seen
    assert wait_exit(pid) == 130
    assert (tmp_path / "first-finished").exists() and not (tmp_path / "second-ran").exists()
    os.close(fd)

    (tmp_path / "first-finished").unlink()
    pid, fd = start_in_terminal(tmp_path, APPLY)
    read_until(fd, b"STEP-ONE-RUNNING")
    os.write(fd, b"\x03")
    read_until(fd, b"stopping after this step")
    os.write(fd, b"\x03")
    read_until(fd, b"cancelled before step 1 of 2")
    assert wait_exit(pid) == 130
    assert not (tmp_path / "first-finished").exists(), "a second Ctrl+C did not stop the running command"
    assert load_state({"XDG_STATE_HOME": str(tmp_path / "state")}).next_step == 0
    os.close(fd)


INTERACTIVE_PLAN = """
import sys
from gpuwiz.backends.findings import Layer
from gpuwiz.backends.runs.plan import Plan, Step

answer = sys.argv[1] + "/answer"
plan = Plan((
    Step(id="driver.ask", title="asks at the terminal", layer=Layer.DRIVER, needs_root=False, interactive=True,
         argv=(sys.executable, "-c", f"open({answer!r}, 'w').write(input('ENROLMENT PASSWORD? '))")),
))
"""


def test_an_interactive_step_gets_the_terminal_then_the_wizard_comes_back(tmp_path):
    """Like `mokutil --import`: the TUI steps aside, the person types at the prompt, the TUI returns."""
    pid, fd = start_in_terminal(tmp_path, TUI, plan=INTERACTIVE_PLAN)
    try:
        read_until(fd, b"ENROLMENT PASSWORD? ")
        os.write(fd, b"typed-by-a-person\r")
        read_until(fd, b"", file=tmp_path / "answer")
        state = tmp_path / "state" / "gpuwiz" / "state.toml"
        read_until(fd, b"", file=state)
        assert (tmp_path / "answer").read_text() == "typed-by-a-person"
        assert load_state({"XDG_STATE_HOME": str(tmp_path / "state")}).status == "done"
        assert os.waitpid(pid, os.WNOHANG) == (0, 0), "the wizard did not come back after the step"
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def test_a_hang_up_at_an_interactive_step_leaves_at_once(tmp_path):
    """Nobody is left to answer the prompt, and the TUI cannot come back on a dead terminal."""
    pid, fd = start_in_terminal(tmp_path, TUI, plan=INTERACTIVE_PLAN)
    read_until(fd, b"ENROLMENT PASSWORD? ")
    os.close(fd)
    assert wait_exit(pid) == 129
    state = load_state({"XDG_STATE_HOME": str(tmp_path / "state")})
    assert (state.status, state.next_step) == ("hung-up", 0) and state.resumable
    answer = tmp_path / "answer"  # opened before the prompt: empty, as nobody answered
    assert not answer.exists() or answer.read_text() == ""
