"""Where gpuwiz keeps a user's state and profiles: XDG base directories, platformdirs without $HOME."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import platformdirs

from gpuwiz.backends.machine.logs import config_home, state_dir, state_home
from gpuwiz.backends.machine.profiles import user_profile_dir


def test_the_xdg_variables_win_when_absolute():
    env = {"XDG_STATE_HOME": "/srv/state", "XDG_CONFIG_HOME": "/srv/config", "HOME": "/home/alice"}
    assert state_dir(env) == Path("/srv/state/gpuwiz")
    assert user_profile_dir(env) == Path("/srv/config/gpuwiz/profiles")


def test_a_relative_xdg_variable_is_ignored_as_the_spec_says():
    env = {"XDG_STATE_HOME": "state", "XDG_CONFIG_HOME": "./cfg", "HOME": "/home/alice"}
    assert state_home(env) == Path("/home/alice/.local/state")
    assert config_home(env) == Path("/home/alice/.config")


def test_without_home_the_password_database_says_where(monkeypatch):
    import os
    import pwd

    for var in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "HOME"):
        monkeypatch.delenv(var, raising=False)
    home = pwd.getpwuid(os.geteuid()).pw_dir
    assert state_home({}) == Path(platformdirs.user_state_dir()) == Path(home) / ".local/state"
    assert config_home({}) == Path(platformdirs.user_config_dir())
    code = "import os; from gpuwiz.backends.machine.logs import state_dir; print(state_dir(os.environ))"
    done = subprocess.run([sys.executable, "-c", code], env={}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"{home}/.local/state/gpuwiz"
