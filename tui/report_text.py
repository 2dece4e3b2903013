"""Plain-terminal rendering of a DoctorReport (rich, no textual). Honours NO_COLOR."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from gpuwiz.backends.doctor import DoctorReport
from gpuwiz.backends.findings import Finding, Status

MARKS = {
    Status.OK: ("✓", "green"),
    Status.WARN: ("!", "yellow"),
    Status.FAIL: ("✗", "bold red"),
    Status.SKIP: ("-", "dim"),
}
ASCII_MARKS = {Status.OK: "+", Status.WARN: "!", Status.FAIL: "x", Status.SKIP: "-"}


def mark(status: Status, unicode: bool = True) -> str:
    return MARKS[status][0] if unicode else ASCII_MARKS[status]


def finding_text(f: Finding) -> Text:
    """The sentence, its id, and for a problem the fix and what was seen."""
    text = Text(f.message)
    text.append(f"  [{f.id}]", style="dim")
    if f.status in (Status.FAIL, Status.WARN):
        if f.fix:
            text.append("\nfix: ", style="bold cyan")
            text.append(f.fix)
        for seen in f.evidence[:3]:
            first = seen.strip().splitlines()[0] if seen.strip() else ""
            text.append(f"\nseen: {first}", style="dim")
    return text


def print_report(report: DoctorReport, console: Console, *, where: str, wrap: bool = True) -> None:
    """`wrap`: on a terminal, wrap with hanging indents; piped, one line per sentence."""
    unicode = console.encoding.lower().startswith("utf")
    console.print(Text(f"gpuwiz doctor: {where}", style="bold"))
    for layer in report.layers:
        console.print()
        head = Text(f"{layer.layer.title:<20}")
        head.append(layer.status.value.upper(), style=MARKS[layer.status][1])
        console.print(head)
        if not wrap:
            for f in layer.findings:
                line = Text(" ") + Text(mark(f.status, unicode), style=MARKS[f.status][1]) + Text(" ")
                for n, part in enumerate(finding_text(f).split("\n")):
                    console.print((line if n == 0 else Text("   ")) + part, soft_wrap=True)
            continue
        table = Table.grid(padding=(0, 1))
        table.add_column(width=2, justify="right")
        table.add_column(ratio=1)
        for f in layer.findings:
            table.add_row(Text(mark(f.status, unicode), style=MARKS[f.status][1]), finding_text(f))
        console.print(table)
    console.print()
    verdict = "a finding failed" if report.failed else "no finding failed"
    console.print(Text(f"Result: {verdict} (exit {report.exit_code}).", style="bold"))
