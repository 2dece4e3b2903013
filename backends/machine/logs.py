"""Where gpuwiz keeps its logs and state ($XDG_STATE_HOME/gpuwiz)."""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Mapping

import platformdirs


def _xdg(env: Mapping[str, str], variable: str, under_home: str, platform_default) -> Path:
    """An XDG base directory of the user whose environment this is: the variable when it is an
    absolute path (the spec ignores a relative one), else under $HOME, else platformdirs' answer,
    which finds the home in the password database (no $HOME: a service, `env -i`, some sudo setups)."""
    value = env.get(variable, "")
    if os.path.isabs(value):
        return Path(value)
    if env.get("HOME"):
        return Path(env["HOME"]) / under_home
    return Path(platform_default())


def state_home(env: Mapping[str, str]) -> Path:
    return _xdg(env, "XDG_STATE_HOME", ".local/state", platformdirs.user_state_dir)


def config_home(env: Mapping[str, str]) -> Path:
    return _xdg(env, "XDG_CONFIG_HOME", ".config", platformdirs.user_config_dir)


def state_dir(env: Mapping[str, str]) -> Path:
    return state_home(env) / "gpuwiz"


def log_dir(env: Mapping[str, str]) -> Path:
    return state_dir(env) / "logs"


def write_crash_log(env: Mapping[str, str], exc: BaseException, argv: list[str]) -> Path:
    """Save the traceback of an unexpected error; return the file (or a temp file if that fails)."""
    text = f"gpuwiz {' '.join(argv)}\n\n" + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in (log_dir(env), Path("/tmp")):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            # 0600 like the run logs: a traceback can quote paths, arguments and environment
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            return path
        except OSError:
            continue
    return Path("/dev/null")
