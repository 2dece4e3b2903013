"""The one reader for the files gpuwiz takes in: configs it edits, drop-ins, templates, answers, profiles.

A regular file or a clear refusal (a fifo would hang the read, /dev/zero never ends, a directory
is not a config); a size cap; strict UTF-8 with the line of the first bad byte (a config written
back must not have U+FFFD where the user had bytes); a nesting limit for TOML and JSON (parsers
recurse: 100k brackets end in RecursionError); JSON's non-numbers (NaN, Infinity, 1e400) refused,
since writing them back gives a file no JSON parser reads. Every refusal is an InputError (exit 2)
naming the file and line; nothing has been written when it is raised.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Protocol

from gpuwiz.backends.errors import ActionFailed, InputError
from gpuwiz.backends.machine import local_files

MAX_INPUT_BYTES = 4 * 1024 * 1024  # containerd's default config is 10 KiB, a big daemon.json a few
MAX_NESTING = 64  # deeper than any config a daemon documents; far below Python's recursion limit


class Readable(Protocol):
    def file_kind(self, path: str) -> str | None: ...

    def read_bytes(self, path: str, limit: int | None = None) -> bytes | None: ...


class LocalFiles:
    """This machine's files for the user's own inputs (answers, profiles), outside any Host."""

    def file_kind(self, path: str) -> str | None:
        return local_files.file_kind(path)

    def read_bytes(self, path: str, limit: int | None = None) -> bytes | None:
        return local_files.read_regular(path, limit)


def read_input(
    files: Readable, path: str, *, what: str = "config", syntax: str = "text", limit: int = MAX_INPUT_BYTES
) -> str | None:
    """The text of `path`, checked; None when nothing is there (a file to create)."""
    if not str(path).strip():
        raise InputError("''", f"an empty path: name the {what} file")
    kind = files.file_kind(path)
    if kind is None:
        return None
    if kind != "file":
        raise InputError(path, f"is a {kind}, not a regular file: give the {what} file itself")
    try:
        data = files.read_bytes(path, limit)
    except OSError as exc:
        data = None
        why = exc.strerror or str(exc)
    else:
        why = "permission denied"
    if data is None:
        hint = " (run it with sudo)" if why.lower().startswith("permission") else ""
        raise ActionFailed(f"cannot read {path}: {why}{hint}")
    if len(data) > limit:
        raise InputError(path, f"larger than {limit // (1024 * 1024)} MiB: not a {what} file gpuwiz reads")
    text = decode_strict(path, data)
    if syntax in ("toml", "json"):
        check_nesting(path, text, syntax)
    if syntax == "json":
        check_json_numbers(path, text)
    return text


def read_local_input(path: str | Path, *, what: str, syntax: str = "text") -> str:
    """A file the user names on this machine (answers, a profile): it must exist."""
    text = read_input(LocalFiles(), str(path), what=what, syntax=syntax)
    if text is None:
        raise InputError(str(path), f"no such file: give the path of the {what} file")
    return text


def decode_strict(path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(
            path,
            f"not UTF-8 (byte 0x{data[exc.start]:02x} at column {column}); save it as UTF-8 and run this again",
            line=line,
        ) from None


def _strings_and_comments(syntax: str) -> re.Pattern[str]:
    if syntax == "json":
        return re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
    return re.compile(r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*', re.S)


def check_nesting(path: str, text: str, syntax: str, limit: int = MAX_NESTING) -> None:
    """Refuse brackets nested deeper than `limit` (outside strings and comments)."""
    if text.count("[") + text.count("{") <= limit:
        return
    skip = _strings_and_comments(syntax)
    depth = 0
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch in "\"'#":
            m = skip.match(text, pos)
            if m:
                pos = m.end()
                continue
        if ch in "[{":
            depth += 1
            if depth > limit:
                raise InputError(
                    path,
                    f"brackets nested more than {limit} deep: not a config gpuwiz edits",
                    line=text.count("\n", 0, pos) + 1,
                )
        elif ch in "]}":
            depth = max(0, depth - 1)
        pos += 1


NON_NUMBER = re.compile(r'"(?:[^"\\]|\\.)*"|(-?(?:NaN|Infinity))|(-?\d+(?:\.\d+)?[eE][+-]?\d+)', re.S)


def check_json_numbers(path: str, text: str) -> None:
    """NaN, Infinity and numbers beyond a float (1e400) are not JSON, though Python's parser takes them."""
    try:
        json.loads(text, parse_constant=_refuse, parse_float=_finite)
    except _NotJson:
        pass
    except (ValueError, RecursionError):
        return  # malformed: the editor that parses it says where
    else:
        return
    for m in NON_NUMBER.finditer(text):
        token = m.group(1) or m.group(2)
        if token and (m.group(1) or not math.isfinite(float(token))):
            why = (
                "JSON has no NaN or Infinity" if m.group(1) else "beyond a float: it would be written back as Infinity"
            )
            raise InputError(
                path,
                f"{token} is not a JSON number ({why}): write a number or a string",
                line=text.count("\n", 0, m.start()) + 1,
            )
    raise InputError(path, "holds a number JSON cannot carry (NaN, Infinity or beyond a float)")


class _NotJson(ValueError):
    pass


def _refuse(token: str) -> float:
    raise _NotJson(token)


def _finite(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _NotJson(token)
    return value
