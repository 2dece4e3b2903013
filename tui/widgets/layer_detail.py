"""One layer's facts and findings."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from backends.findings import Finding, Layer, Status

from ..report_text import MARKS


def _facts_table(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    return table


def _finding(f: Finding) -> Text:
    mark, style = MARKS[f.status]
    text = Text()
    text.append(f"{mark} ", style=style)
    text.append(f.message)
    text.append(f" [{f.id}]", style="dim")
    if f.fix and f.status in (Status.FAIL, Status.WARN):
        text.append("\n  fix: ", style="bold cyan")
        text.append(f.fix)
    return text


class LayerDetail(Static):
    """Dumb: renders the rows and findings it is handed."""

    def show_probing(self, layer: Layer) -> None:
        self.update(Text(f"{layer.title}\n\nProbing this machine…", style="dim"))

    def show_layer(
        self, layer: Layer, status: Status, rows: list[tuple[str, str]], findings: tuple[Finding, ...]
    ) -> None:
        mark, style = MARKS[status]
        title = Text(f"{layer.title}  ", style="bold")
        title.append(f"{mark} {status.value.upper()}", style=style)
        parts: list = [title, Text("")]
        parts += [_finding(f) for f in findings]
        if rows:
            parts += [Text(""), Text("Detected", style="bold underline"), _facts_table(rows)]
        self.update(Group(*parts))
