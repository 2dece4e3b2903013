"""tomllib on Python ≥ 3.11, tomli before (same API)."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised by the 3.10 CI run
    import tomli as tomllib

__all__ = ["tomllib", "toml_error_line"]


def toml_error_line(exc: Exception) -> int | None:
    import re

    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else None
