"""A scrollable viewer for a text: a run's log (with its path) or one file's diff from the plan."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from .help import TEXT_VIEW_HELP_TEXT


def diff_line(line: str) -> Text:
    if line.startswith(("+++", "---")):
        return Text(line, style="bold")
    if line.startswith("+"):
        return Text(line, style="gpuwiz.added")
    if line.startswith("-"):
        return Text(line, style="gpuwiz.removed")
    if line.startswith("@@"):
        return Text(line, style="gpuwiz.context")
    return Text(line)


def log_line(line: str) -> Text:
    """A run log's line (backends/runs/run_log, executor): its step heads, commands, failures and
    reboots in the severity styles; a command's own output (`  | `) as it is."""
    if line.startswith("## "):
        return Text(line, style="bold")
    if line.startswith("# "):
        return Text(line, style="gpuwiz.context")
    if line.startswith("$ "):
        return Text(line, style="gpuwiz.command")
    if line.startswith("   FAILED:"):
        return Text(line, style="gpuwiz.fail")
    if line.startswith("   a reboot is needed"):
        return Text(line, style="gpuwiz.attention")
    return Text(line)


class TextViewScreen(Screen[None]):
    """`lines` shown in a scrollable log, long lines unwrapped (it scrolls sideways); `heading`:
    what it is and where it lives."""

    CSS_PATH = "../styles/runs.tcss"
    HELP_TEXT = TEXT_VIEW_HELP_TEXT
    BINDINGS = [
        Binding("q,escape", "close", "Back"),
        Binding("y", "copy_path", "Copy path"),
        Binding("home", "top", "Top", show=False),
        Binding("end", "bottom", "End", show=False),
    ]

    def __init__(self, heading: str, lines: list[str], *, path: str = "", diff: bool = False, at_end: bool = False):
        super().__init__()
        self.heading = heading
        self.text_lines = lines
        self.shown_path = path
        self.as_diff = diff
        self.at_end = at_end

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(self.heading, style="bold"), id="textview-heading")
        with ScrollableContainer(id="textview-body"):
            yield Static(self._text(), id="textview-text")
        yield Footer()

    def _text(self) -> Text:
        shown = [diff_line(line) if self.as_diff else log_line(line) for line in self.text_lines]
        text = Text("\n").join(shown) if shown else Text("(empty)", style="gpuwiz.context")
        text.no_wrap = True
        return text

    def on_mount(self) -> None:
        body = self.query_one("#textview-body", ScrollableContainer)
        body.focus()
        if self.at_end:
            self.call_after_refresh(body.scroll_end, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_top(self) -> None:
        self.query_one("#textview-body", ScrollableContainer).scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.query_one("#textview-body", ScrollableContainer).scroll_end(animate=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return bool(self.shown_path) if action == "copy_path" else True  # nothing to copy: no key

    def action_copy_path(self) -> None:
        if self.shown_path:
            self.app.copy_to_clipboard(self.shown_path)
            self.notify(f"Copied {self.shown_path} (to the terminal's clipboard, OSC 52)", timeout=4)


def log_view(path: str | Path | None, *, what: str = "Run log") -> TextViewScreen | str:
    """The viewer for a run log, or why there is none to show."""
    from gpuwiz.backends.runs.run_log import read_run_log

    if not path:
        return "This run has no log file (its folder could not be written)."
    try:
        lines, cut = read_run_log(path)
    except OSError as exc:
        return f"Cannot read {path}: {exc.strerror or exc}"
    if cut:
        lines = [f"… {cut} earlier line(s) not shown; the whole log is the file", *lines]
    return TextViewScreen(f"{what}: {path}", lines, path=str(path), at_end=True)
