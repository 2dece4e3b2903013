"""gpuwiz backends: everything that knows the machine. Never imports textual."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """`__version__`, read from the installed metadata when first asked (importlib.metadata costs
    ~20 ms at start-up, which the monitor's first frame need not pay)."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("gpuwiz")  # pyproject.toml is the one place the version is written
    except PackageNotFoundError:  # run from a checkout that was never installed
        found = "0+unknown"
    globals()["__version__"] = found
    return found
