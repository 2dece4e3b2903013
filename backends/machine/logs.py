"""Where gpuwiz keeps its logs and state ($XDG_STATE_HOME/gpuwiz)."""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Mapping


def state_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_STATE_HOME") or os.path.join(env.get("HOME", "/root"), ".local", "state")
    return Path(base) / "gpuwiz"


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
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return Path("/dev/null")
