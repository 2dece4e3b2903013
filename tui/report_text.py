"""Plain-terminal rendering of a DoctorReport (rich, no textual). Honours NO_COLOR."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from backends.doctor import DoctorReport
from backends.findings import Status

MARKS = {
    Status.OK: ("✓", "green"),
    Status.WARN: ("!", "yellow"),
    Status.FAIL: ("✗", "bold red"),
    Status.SKIP: ("-", "dim"),
}
ASCII_MARKS = {Status.OK: "+", Status.WARN: "!", Status.FAIL: "x", Status.SKIP: "-"}


def mark(status: Status, unicode: bool = True) -> str:
    return MARKS[status][0] if unicode else ASCII_MARKS[status]


def print_report(report: DoctorReport, console: Console, *, where: str) -> None:
    unicode = console.encoding.lower().startswith("utf")
    console.print(Text(f"gpuwiz doctor: {where}", style="bold"))
    for layer in report.layers:
        console.print()
        head = Text(f"{layer.layer.title:<20}")
        head.append(layer.status.value.upper(), style=MARKS[layer.status][1])
        console.print(head)
        for f in layer.findings:
            line = Text("  ")
            line.append(mark(f.status, unicode), style=MARKS[f.status][1])
            line.append(f" {f.message}")
            line.append(f"  [{f.id}]", style="dim")
            console.print(line)
            if f.fix and f.status in (Status.FAIL, Status.WARN):
                console.print(Text(f"      fix: {f.fix}", style="cyan"))
            for ev in f.evidence[:3] if f.status in (Status.FAIL, Status.WARN) else ():
                console.print(Text(f"      seen: {ev.splitlines()[0] if ev else ''}", style="dim"))
    console.print()
    verdict = "a finding failed" if report.failed else "no finding failed"
    console.print(Text(f"Result: {verdict} (exit {report.exit_code}).", style="bold"))
