"""Errors that map onto the CLI's exit codes (DESIGN.md)."""

from __future__ import annotations


class GpuwizError(Exception):
    """An error gpuwiz reports in one line."""

    exit_code = 3


class InputError(GpuwizError):
    """Bad input: a malformed config, profile or answers file. Nothing was changed."""

    exit_code = 2

    def __init__(self, path: str, message: str, *, line: int | None = None, key: str | None = None):
        self.path = path
        self.message = message
        self.line = line
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        if self.key:
            where = f"{where}: {self.key}"
        return f"{where}: {self.message}"


class UsageError(GpuwizError):
    """The command line itself is wrong."""

    exit_code = 2


class ActionFailed(GpuwizError):
    """Something gpuwiz was asked to do could not be done (a file it cannot write)."""

    exit_code = 1
