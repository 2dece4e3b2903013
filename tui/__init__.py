"""gpuwiz's user interface: the Textual app and the command line (`tui.cli`).

Importing this package imports no textual: commands that draw no TUI stay fast.
"""
