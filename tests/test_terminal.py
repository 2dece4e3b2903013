"""The real `gpuwiz` in a real terminal (tmux), keyboard only, at 80×24."""

from __future__ import annotations

import os
import re
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
    wanted = " ".join(text.split())  # column widths may change: runs of spaces count as one
    while time.time() < deadline:
        screen = _capture(session)
        if wanted in " ".join(screen.split()):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; screen was:\n{screen}")


def _wait_gone(session: str, text: str, timeout: float = 20) -> str:
    """Until `text` (a modal's) is off the screen: keys sent before that would go to the modal."""
    deadline = time.time() + timeout
    screen = _capture(session)
    while text in screen and time.time() < deadline:
        time.sleep(0.2)
        screen = _capture(session)
    assert text not in screen, f"{text!r} stayed; screen was:\n{screen}"
    return screen


@pytest.mark.parametrize("no_color", [False, True])
def test_wizard_shell_in_tmux(tmp_path, no_color):
    session = f"gpuwiz-test-{os.getpid()}-{int(no_color)}"
    env = {"TERM": "xterm-256color", "PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    if no_color:
        env["NO_COLOR"] = "1"
    command = f"{sys.executable} -m gpuwiz --profile homelab-ready; echo EXITED=$?; sleep 30"
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


def _start(session: str, tmp_path, command: str, size=("80", "24")) -> None:
    env = {"TERM": "xterm-256color", "PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    env_args = [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", size[0], "-y", size[1], *env_args, command], check=True
    )


def _keys(session: str, *keys: str) -> None:
    for key in keys:
        subprocess.run(["tmux", "send-keys", "-t", session, key], check=True)
        time.sleep(0.3)


def test_run_a_layer_then_the_monitor_keys_only(tmp_path):
    """fresh-rtx3060: open the monitor (no driver yet: it says so), run the driver layer on the
    simulated machine (it reboots), go back: the driver layer is green; quit — keys only, in tmux."""
    session = f"gpuwiz-run-{os.getpid()}"
    _start(session, tmp_path, f"{sys.executable} -m gpuwiz --profile fresh-rtx3060; echo EXITED=$?; sleep 30")
    try:
        _wait_for(session, "[driver.nouveau]")  # probed: it opens on the first layer that fails
        _keys(session, "m")
        _wait_for(session, "NVML: LibraryNotFound")  # no driver yet: the monitor says so and the fix
        _keys(session, "q")
        _wait_for(session, "x Run plan")
        _keys(session, "2", "x")
        _wait_for(session, "Run (y)")
        _keys(session, "y")
        _wait_for(session, "The simulated machine rebooted")
        _keys(session, "q")
        _wait_for(session, "Go on with Container toolkit")  # as after a real reboot
        _wait_for(session, "2. ✓ Driver")
        _keys(session, "y")
        _wait_gone(session, "Go on with Container toolkit")
        _wait_for(session, "Container toolkit  ")  # the toolkit layer is shown
        _keys(session, "x")
        _wait_for(session, "Run (y)")
        _keys(session, "y")
        _wait_for(session, "All steps done (simulated)")
        _keys(session, "q")
        _wait_for(session, "3. ✓ Container toolkit")
        _keys(session, "q")
        _wait_for(session, "EXITED=0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_monitor_keys_only_at_80x24(tmp_path):
    session = f"gpuwiz-mon-{os.getpid()}"
    _start(session, tmp_path, f"{sys.executable} -m gpuwiz --profile dgx-h100x8 monitor; echo EXITED=$?; sleep 30")
    try:
        screen = _wait_for(session, "Processes")
        assert screen.count("H100 80GB HBM3") == 8  # one line per GPU
        _keys(session, "s")
        _wait_for(session, "sort: sm")
        _keys(session, "S")
        _wait_for(session, "sort: sm, reversed")
        _keys(session, "S", "Enter")
        _wait_for(session, "parents:")  # the selected process whole
        _keys(session, "Escape")
        _wait_for(session, "sort: sm")
        _keys(session, "f", "f")
        _wait_for(session, "GPU 1 00000000:2A:00.0")  # the picked GPU's details
        _keys(session, "t")
        _wait_for(session, "Send SIGTERM (y)")
        _keys(session, "n")
        _wait_for(session, "nothing sent")
        _keys(session, "q")
        _wait_for(session, "EXITED=0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def _decline_going_on(session: str) -> str:
    """Back on the layers after a reboot: the wizard offers to go on with the next layer; say no."""
    screen = _wait_for(session, "Go on with Container toolkit")
    _keys(session, "n")
    _wait_gone(session, "Go on with Container toolkit")
    return screen


def _walk_to_the_run_screen(session: str, keys_before_run: list[tuple[str, str]], run_title: str) -> None:
    """Keys (each with a text that must show after it), then x, y: the run screen runs to its end."""
    for key, expect in keys_before_run:
        _keys(session, key)
        if expect:
            _wait_for(session, expect)
    _keys(session, "x")
    _wait_for(session, "Run (y)")
    _keys(session, "y")
    _wait_for(session, run_title)


def test_a_changed_install_method_runs_in_tmux(tmp_path):
    """The core-path issue's first walkthrough: 2, Tab, Tab, Enter, Down, Enter makes the method
    "NVIDIA CUDA repo", then x, y: the run screen runs the CUDA repository's steps to the reboot."""
    session = f"gpuwiz-method-{os.getpid()}"
    _start(session, tmp_path, f"{sys.executable} -m gpuwiz --profile fresh-rtx3060; echo EXITED=$?; sleep 30")
    try:
        _wait_for(session, "[driver.nouveau]")  # it opens on the first layer that needs work
        steps = [("2", "Driver ✗ FAIL"), ("Tab", ""), ("Tab", ""), ("Enter", "NVIDIA CUDA repo  every")]
        steps += [("Down", ""), ("Enter", "Install method NVIDIA CUDA repo")]
        _walk_to_the_run_screen(session, steps, "The simulated machine rebooted")
        screen = _capture(session)
        assert "Log:" in screen and "Traceback" not in screen
        _keys(session, "q")
        _decline_going_on(session)
        _wait_for(session, "2. ✓ Driver")
        _keys(session, "q")
        _wait_for(session, "EXITED=0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_nvidia_as_default_runs_in_tmux(tmp_path):
    """The second walkthrough: on the runtime layer "nvidia as default: Yes", then run it."""
    session = f"gpuwiz-default-{os.getpid()}"
    _start(session, tmp_path, f"{sys.executable} -m gpuwiz --profile fresh-rtx3060; echo EXITED=$?; sleep 30")
    try:
        _wait_for(session, "[driver.nouveau]")  # it opens on the first layer that needs work
        steps = [
            ("4", "Container runtime ✗ FAIL"),
            ("Tab", ""),
            ("Tab", ""),
            ("Tab", ""),
            ("Enter", "every container"),
        ]
        steps += [("Down", ""), ("Enter", "nvidia as default Yes")]
        _walk_to_the_run_screen(session, steps, "All steps done (simulated)")
        _keys(session, "q")
        _wait_for(session, "4. ")
        _keys(session, "q")
        _wait_for(session, "EXITED=0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_an_answers_file_with_the_cuda_repo_runs_in_tmux(tmp_path):
    """The third: `gpuwiz --answers F` with method = "cuda-repo" opens with it chosen, and runs."""
    answers = tmp_path / "answers.toml"
    answers.write_text('[driver]\nmethod = "cuda-repo"\n')
    session = f"gpuwiz-answers-{os.getpid()}"
    command = f"{sys.executable} -m gpuwiz --profile fresh-rtx3060 --answers {answers}; echo EXITED=$?; sleep 30"
    _start(session, tmp_path, command)
    try:
        _wait_for(session, "[driver.nouveau]")  # it opens on the first layer that needs work
        steps = [("2", "Driver ✗ FAIL")]
        _walk_to_the_run_screen(session, steps, "The simulated machine rebooted")
        log = re.search(r"(/\S+\.log)", _wait_for(session, ".log")).group(1)
        assert "apt-mark hold cuda-drivers-535" in open(log).read()  # the CUDA repository's packages ran
        _keys(session, "q")
        _decline_going_on(session)
        _keys(session, "q")
        _wait_for(session, "EXITED=0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_palette_and_per_screen_help_in_tmux(tmp_path):
    """ctrl+p lists gpuwiz's own actions with their keys and runs one; ? on the layers screen and
    on the monitor shows that screen's own keys — keys only, in tmux at 80×24, with NO_COLOR."""
    session = f"gpuwiz-palette-{os.getpid()}"
    env = {"TERM": "xterm-256color", "PATH": os.environ["PATH"], "HOME": str(tmp_path), "NO_COLOR": "1"}
    env_args = [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
    command = f"{sys.executable} -m gpuwiz --profile fresh-rtx3060; echo EXITED=$?; sleep 30"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", *env_args, command], check=True)
    try:
        _wait_for(session, "[driver.nouveau]")
        _keys(session, "?")
        screen = _wait_for(session, "Esc closes")
        assert "run this layer's plan" in screen and "save the choices" in screen
        _keys(session, "Escape")
        _wait_gone(session, "Esc closes")
        _keys(session, "C-p")
        screen = _wait_for(session, "Go to layer 2: Driver (2)")
        assert "Re-probe (r)" in screen and "Monitor (m)" in screen
        subprocess.run(["tmux", "send-keys", "-t", session, "-l", "run plan"], check=True)
        _wait_for(session, "Run plan (x)")
        _keys(session, "Escape")
        _wait_gone(session, "Search for commands")
        _keys(session, "C-p")
        _wait_for(session, "Search for commands")
        for ch in "Container toolkit":
            subprocess.run(["tmux", "send-keys", "-t", session, "-l", ch], check=True)
        _wait_for(session, "Go to layer 3")
        _keys(session, "Enter")
        _wait_for(session, "[toolkit.")  # the palette's jump went to the toolkit layer
        _keys(session, "m")
        _wait_for(session, "NVML: LibraryNotFound")
        _keys(session, "?")
        screen = _wait_for(session, "Esc closes")
        assert "SIGTERM / SIGKILL" in screen and "The monitor" in screen
        _keys(session, "Escape")
        _wait_gone(session, "Esc closes")
        _keys(session, "q", "q")
        _wait_for(session, "EXITED=0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_log_viewer_and_its_help_with_no_unicode_in_tmux(tmp_path):
    """--no-unicode, NO_COLOR: run the driver layer, open its log (l), the viewer's own help (?),
    back, the run question's change summary on the next layer — ASCII only on every screen."""
    session = f"gpuwiz-log-{os.getpid()}"
    env = {"TERM": "xterm-256color", "PATH": os.environ["PATH"], "HOME": str(tmp_path), "NO_COLOR": "1"}
    env_args = [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
    command = f"{sys.executable} -m gpuwiz --profile fresh-rtx3060 --no-unicode; echo EXITED=$?; sleep 30"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", *env_args, command], check=True)
    screens = []
    try:
        screens.append(_wait_for(session, "[driver.nouveau]"))
        _keys(session, "2", "x")
        screens.append(_wait_for(session, "Run (y)"))
        assert "Changes:" in screens[-1]
        _keys(session, "y")
        screens.append(_wait_for(session, "The simulated machine rebooted"))
        _keys(session, "l")
        screens.append(_wait_for(session, "Run log: "))  # the viewer's heading names the file
        _keys(session, "?")
        screens.append(_wait_for(session, "scroll sideways"))
        assert "copy the file's path" in screens[-1]
        _keys(session, "Escape")
        _wait_gone(session, "scroll sideways")
        _keys(session, "q")
        _wait_for(session, "The simulated machine rebooted")
        _keys(session, "q")
        screens.append(_decline_going_on(session))
        _keys(session, "q")
        _wait_for(session, "EXITED=0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    for screen in screens:
        assert screen.isascii(), screen
