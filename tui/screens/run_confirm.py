"""The yes/no before a plan runs, with what it will change: files created or edited (each one's
diff a key away), packages installed, removed and held, services restarted, a reboot."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from gpuwiz.backends.runs.plan_summary import ChangeSummary, counts_line, summary_rows

from .help import RUN_CONFIRM_HELP_TEXT
from .text_view import TextViewScreen

# What takes something away or stops the machine: said as a warning (tui/severity.py)
WARNING_ROWS = {"remove", "stop", "reboot"}


def change_row(label: str, text: str) -> Table:
    """One change: its kind, then the text, a wrapped text going on under its own start."""
    style = "gpuwiz.warn" if label in WARNING_ROWS else ""
    row = Table.grid(padding=(0, 1))
    row.add_column(width=8, no_wrap=True)
    row.add_column(ratio=1, overflow="fold")
    row.add_row(Text(label, style=style or "bold"), Text(text, style=style))
    return row


class RunConfirmScreen(ModalScreen[bool]):
    CSS_PATH = "../styles/runs.tcss"
    HELP_TEXT = RUN_CONFIRM_HELP_TEXT
    BINDINGS = [
        Binding("y", "answer(True)", "Run"),
        Binding("n,escape", "answer(False)", "No"),
        Binding("d", "diff", "Diff"),
    ]

    def __init__(self, question: str, summary: ChangeSummary, yes: str = "Run") -> None:
        super().__init__()
        self.question = question
        self.summary = summary
        self.yes = yes

    def compose(self) -> ComposeResult:
        rows = summary_rows(self.summary)
        with Vertical(id="runconfirm-box"):
            yield Static(self.question, id="runconfirm-text")
            yield Static(f"Changes: {counts_line(self.summary)}", id="runconfirm-counts")
            options = [Option(change_row(label, text), id=f"row-{n}") for n, (label, text) in enumerate(rows)]
            changes = OptionList(*options, id="runconfirm-changes", compact=True)
            changes.display = bool(options)
            yield changes
            hint = "enter/d: the highlighted file's diff" if self.summary.files else ""
            yield Static(hint, id="runconfirm-hint")
            with Horizontal(id="runconfirm-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="runconfirm-yes", compact=True)
                yield Button("No (n)", variant="primary", id="runconfirm-no", compact=True)

    def on_mount(self) -> None:
        changes = self.query_one("#runconfirm-changes", OptionList)
        if self.summary.files:
            changes.highlighted = 0
            changes.focus()
        else:
            self.query_one("#runconfirm-no", Button).focus()

    def _highlighted_file(self):
        changes = self.query_one("#runconfirm-changes", OptionList)
        index = changes.highlighted
        files = [*self.summary.created, *self.summary.edited]  # summary_rows' order
        if index is None or index >= len(files):
            return None
        return files[index]

    def action_diff(self) -> None:
        change = self._highlighted_file()
        if change is None:
            if self.summary.files:
                self.notify("Highlight a file (create/edit) to see its diff.", timeout=4)
            return
        what = "new file" if change.created else "edit"
        self.app.push_screen(
            TextViewScreen(f"Diff ({what}): {change.path}", change.diff.splitlines(), path=change.path, diff=True)
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_diff()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "runconfirm-yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
