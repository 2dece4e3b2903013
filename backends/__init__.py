"""gpuwiz backends: everything that knows the machine. Never imports textual."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gpuwiz")  # pyproject.toml is the one place the version is written
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
