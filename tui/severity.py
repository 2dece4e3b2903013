"""How severity looks in the TUI: named Rich styles, one set for colour and one for NO_COLOR.

Textual's NO_COLOR filter turns every colour into a grey of the same luminance, so red (a failure)
becomes dark grey on black, fainter than a pass: under NO_COLOR a colour says nothing. The
NO_COLOR set therefore says severity with weight and shape only: a failure is reversed and bold
(the loudest thing on the screen), a warning bold, a pass plain, a skip dim. The app pushes the
set that fits onto its console (GpuwizApp.__init__); widgets use the names, never a colour.
The CLI (report_text) keeps its own plain styles: Rich drops colour there and keeps the marks.
"""

from __future__ import annotations

from rich.theme import Theme

from gpuwiz.backends.findings import Status

COLOUR = {
    "gpuwiz.ok": "green",
    "gpuwiz.warn": "bold yellow",
    "gpuwiz.fail": "bold red",
    "gpuwiz.fail-badge": "bold white on red",  # the layer's "✗ FAIL" beside its title
    "gpuwiz.skip": "dim",
    "gpuwiz.pending": "dim",
    "gpuwiz.fix": "bold cyan",
    "gpuwiz.command": "cyan",
    "gpuwiz.added": "green",
    "gpuwiz.removed": "red",
    "gpuwiz.context": "dim",
    "gpuwiz.attention": "bold yellow",  # asks at the terminal, a reboot follows
}
NO_COLOUR = {
    "gpuwiz.ok": "none",
    "gpuwiz.warn": "bold",
    "gpuwiz.fail": "bold reverse",
    "gpuwiz.fail-badge": "bold reverse",
    "gpuwiz.skip": "dim",
    "gpuwiz.pending": "dim",
    "gpuwiz.fix": "bold",
    "gpuwiz.command": "none",
    "gpuwiz.added": "bold",
    "gpuwiz.removed": "none",
    "gpuwiz.context": "dim",
    "gpuwiz.attention": "bold",
}

MARKS = {
    Status.OK: ("✓", "gpuwiz.ok"),
    Status.WARN: ("!", "gpuwiz.warn"),
    Status.FAIL: ("✗", "gpuwiz.fail"),
    Status.SKIP: ("-", "gpuwiz.skip"),
}
BADGES = {**MARKS, Status.FAIL: ("✗", "gpuwiz.fail-badge")}


def severity_theme(no_color: bool) -> Theme:
    return Theme(NO_COLOUR if no_color else COLOUR, inherit=True)
