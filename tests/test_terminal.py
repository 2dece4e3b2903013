"""The real `gpuwiz` in a real terminal (tmux), keyboard only, at 80×24."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux not installed (.ci/install-system-deps.sh installs it)"
    ),
]


def _capture(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout


def _wait_for(session: str, text: str, timeout: float = 20) -> str:
    deadline = time.time() + timeout
    screen = ""
    while time.time() < deadline:
        screen = _capture(session)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; screen was:\n{screen}")


@pytest.mark.parametrize("no_color", [False, True])
def test_wizard_shell_in_tmux(tmp_path, no_color):
    session = f"gpuwiz-test-{os.getpid()}-{int(no_color)}"
    env = {"TERM": "xterm-256color", "PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    if no_color:
        env["NO_COLOR"] = "1"
    command = f"{sys.executable} -m tui --profile homelab-ready; echo EXITED=$?; sleep 30"
    env_args = [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", *env_args, command], check=True)
    try:
        _wait_for(session, "✓ Kubernetes")
        screen = _wait_for(session, "Detected")  # the detail pane paints a moment after the list
        assert "SIMULATED machine: homelab-ready" in screen
        subprocess.run(["tmux", "send-keys", "-t", session, "5"], check=True)
        screen = _wait_for(session, "nvidia.com/gpu")
        subprocess.run(["tmux", "send-keys", "-t", session, "?"], check=True)
        _wait_for(session, "Esc closes")
        subprocess.run(["tmux", "send-keys", "-t", session, "Escape"], check=True)
        time.sleep(0.5)
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        screen = _wait_for(session, "EXITED=0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
