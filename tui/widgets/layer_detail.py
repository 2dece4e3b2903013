"""One layer's facts and findings."""

from __future__ import annotations

import shlex

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from gpuwiz.backends.findings import Finding, Layer, Status
from gpuwiz.backends.planners.choices import Choice
from gpuwiz.backends.runs.plan import Step

from ..report_text import MARKS
from .choices_panel import ChoicesPanel


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


def _diff(text: str) -> Text:
    out = Text()
    for line in text.splitlines():
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
        out.append(f"    {line}\n", style=style)
    out.rstrip()
    return out


def _step(n: int, step: Step) -> Text:
    text = Text()
    text.append(f"{n}. {step.title}", style="bold")
    if step.needs_root:
        text.append(" (root)", style="dim")
    if step.why:
        text.append(f"\n   {step.why}", style="italic")
    if step.interactive:
        text.append("\n   asks you at the terminal", style="bold yellow")
    if step.argv:
        text.append(f"\n   $ {shlex.join(step.argv)}", style="cyan")
    if step.edit:
        text.append(f"\n   edit {step.edit.path}\n")
        text.append_text(_diff(step.edit.diff()))
    for unit in step.restarts:
        text.append(f"\n   $ systemctl restart {unit}", style="cyan")
    if step.reboot:
        text.append("\n   then: reboot", style="bold yellow")
    return text


class LayerDetail(Vertical):
    """Dumb: renders the findings, choices, plan and facts it is handed."""

    def compose(self) -> ComposeResult:
        yield Static(id="summary")
        yield ChoicesPanel(id="choices")
        yield Static(id="plan-view")

    def show_probing(self, layer: Layer) -> None:
        self.query_one("#summary", Static).update(Text(f"{layer.title}\n\nProbing this machine…", style="dim"))
        self.query_one(ChoicesPanel).show([], {})
        self.query_one("#plan-view", Static).update("")

    def show_layer(
        self,
        layer: Layer,
        status: Status,
        rows: list[tuple[str, str]],
        findings: tuple[Finding, ...],
        steps: tuple[Step, ...] = (),
        notes: tuple[str, ...] = (),
        choices: tuple[Choice, ...] = (),
        values: dict[str, str] | None = None,
        scale_out: tuple[str, str] | None = None,
    ) -> None:
        """`scale_out`: (what to say, the answers file) for bringing the next node to this state."""
        mark, style = MARKS[status]
        title = Text(f"{layer.title}  ", style="bold")
        title.append(f"{mark} {status.value.upper()}", style=style)
        self.query_one("#summary", Static).update(Group(title, Text(""), *[_finding(f) for f in findings]))
        self.query_one(ChoicesPanel).show(list(choices), values or {})
        parts: list = []
        if steps or notes:
            parts += [Text(""), Text("Plan (runs only after you confirm)", style="bold underline")]
            parts += [_step(n, s) for n, s in enumerate(steps, 1)]
            parts += [Text(note, style="dim") for note in notes]
        if rows:
            parts += [Text(""), Text("Detected", style="bold underline"), _facts_table(rows)]
        if scale_out:
            said, answers = scale_out
            parts += [Text(""), Text("The next GPU node", style="bold underline"), Text(said)]
            parts += [Text(answers.rstrip("\n"), style="dim")]
        self.query_one("#plan-view", Static).update(Group(*parts))
