"""gpuwiz: the Textual app and the command line (`gpuwiz.cli`); `gpuwiz.backends` knows the machine.

Importing this package imports no textual: commands that draw no TUI stay fast.
"""
