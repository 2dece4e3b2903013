"""gpuwiz backends: everything that knows the machine. Never imports textual."""

__version__ = "0.1.0"
