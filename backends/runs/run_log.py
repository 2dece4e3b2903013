"""The full log of a run: every command, its exit code and output, with secrets redacted.

One file per run in `$XDG_STATE_HOME/gpuwiz/logs/run-YYYYmmdd-HHMMSS.log`. A sudo password
never reaches it (it goes to sudo on stdin, and stdin is never logged); any known secret string
and anything that looks like a token, key or certificate is replaced before a line is written.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Mapping, TextIO

from gpuwiz.backends.machine.logs import log_dir
from gpuwiz.backends.machine.redact import REDACTED, without_secrets


def redact_secrets(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Tokens, keys, certificates and the given secret strings replaced (hostnames stay: a log is
    for the user of this machine, not for a public bug report)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return without_secrets(text)


class RunLog:
    def __init__(self, path: Path | None, secrets: tuple[str, ...] = ()):
        self.path = path
        self.secrets = secrets
        self._fh: TextIO | None = None
        self._in_pem = False  # output streams line by line: a key block spans many
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)  # output may name internals
            self._fh = os.fdopen(fd, "a", encoding="utf-8")

    @classmethod
    def for_run(cls, env: Mapping[str, str], secrets: tuple[str, ...] = (), *, simulated_profile: str = "") -> RunLog:
        """A new log in env's state folder; a run on a profile says so in its first line (the log
        belongs to whoever runs gpuwiz, like a real run's)."""
        log = cls._new(env, secrets)
        if simulated_profile:
            log.write(f"# SIMULATED machine {simulated_profile}: nothing on this machine was run or changed")
        return log

    @classmethod
    def _new(cls, env: Mapping[str, str], secrets: tuple[str, ...]) -> RunLog:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folder = log_dir(env)
        path = folder / f"run-{stamp}.log"
        n = 1
        while path.exists():
            path = folder / f"run-{stamp}.{n}.log"
            n += 1
        try:
            return cls(path, secrets)
        except OSError:
            return cls(None, secrets)

    def add_secret(self, secret: str) -> None:
        self.secrets = (*self.secrets, secret)

    def write(self, text: str, *, prefix: str = "") -> None:
        if self._fh is None:
            return
        self._fh.write(prefix + redact_secrets(text, self.secrets).rstrip("\n") + "\n")
        self._fh.flush()

    def command(self, argv: tuple[str, ...], root: bool) -> None:
        self.write(f"$ {'(root) ' if root else ''}{shlex.join(argv)}")

    def output(self, line: str) -> None:
        if "-----BEGIN " in line and "-----END " not in line:
            self._in_pem = True
        elif self._in_pem:
            if "-----END " in line:
                self._in_pem = False
            else:
                line = REDACTED
        self.write(line, prefix="  | ")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_run_log(path: str | Path, max_lines: int = 5000) -> tuple[list[str], int]:
    """A run log's last `max_lines` lines (for the wizard's viewer), and how many came before them.
    OSError when it cannot be read."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.read().splitlines()
    cut = max(0, len(lines) - max_lines)
    return lines[cut:], cut
