"""Shared test set-up: stable snapshots under snapshots/, clean environment, profile hosts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = ROOT / "snapshots"

# Snapshots change with these; a developer's shell must not change the tests' pictures.
for _var in ("NO_COLOR", "TEXTUAL_THEME", "FORCE_COLOR", "TEXTUAL", "COLUMNS", "LINES", "TEXTUAL_ANIMATIONS"):
    os.environ.pop(_var, None)
os.environ["TEXTUAL_ANIMATIONS"] = "none"

try:
    import pytest_textual_snapshot
except ImportError:  # pragma: no cover - the test extra is installed by the README's command
    pytest_textual_snapshot = None

if pytest_textual_snapshot is not None:
    # pytest-textual-snapshot (pinned: 1.1.0) writes beside the tests in __snapshots__/ and has
    # no option for another folder; every SVG lives in snapshots/ instead.
    class _SnapshotsFolder(pytest_textual_snapshot.SVGImageExtension):
        @classmethod
        def dirname(cls, *, test_location) -> str:
            return str(SNAPSHOT_DIR / Path(test_location.filepath).stem)

    pytest_textual_snapshot.SVGImageExtension = _SnapshotsFolder


@pytest.fixture
def profile_host():
    """ProfileHost for a shipped profile by name."""
    from gpuwiz.backends.machine.profile_host import ProfileHost
    from gpuwiz.backends.machine.profiles import load_profile

    def make(name: str) -> ProfileHost:
        return ProfileHost(load_profile(name, {"HOME": "/nonexistent"}))

    return make


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    """XDG folders in a temp dir so tests never touch the user's profiles, logs or backups."""
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"), ("HOME", "home")):
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(var, str(tmp_path / sub))
    return tmp_path


@pytest.fixture
def user_env(tmp_path) -> dict[str, str]:
    """The environment for a gpuwiz subprocess whose state, backups and logs stay in tmp_path."""
    env = dict(os.environ)
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["HOME"] = str(tmp_path / "home")
    return env


SNAPSHOT_STATE = "/tmp/gpuwiz-snapshot-state"  # the same path in every checkout: it shows in pictures


@pytest.fixture(autouse=True)
def state_home(request, tmp_path_factory, monkeypatch):
    """Every test's run logs, run state and backups go to a folder of its own, never the user's.
    A snapshot shows a run's log path and its steps' times, so there they are fixed."""
    import shutil
    import types

    if "snap_compare" in request.fixturenames:
        shutil.rmtree(SNAPSHOT_STATE, ignore_errors=True)
        monkeypatch.setenv("XDG_STATE_HOME", SNAPSHOT_STATE)
        import gpuwiz.backends.runs.run_log

        monkeypatch.setattr(
            gpuwiz.backends.runs.run_log, "time", types.SimpleNamespace(strftime=lambda fmt: "20261201-120000")
        )
        import gpuwiz.backends.runs.executor

        # and a step's "done (0.0 s)": on a busy machine a simulated step once took 0.5 s
        monkeypatch.setattr(gpuwiz.backends.runs.executor, "time", types.SimpleNamespace(monotonic=lambda: 0.0))
    else:
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def no_color(monkeypatch):
    """NO_COLOR set, and UTC so that clocks on snapshots read the same everywhere."""
    import time

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
