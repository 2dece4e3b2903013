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
from gpuwiz.backends.runs.plan_summary import shown_diff

from ..severity import BADGES, MARKS
from .choices_panel import ChoicesPanel


def _facts_table(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    return table


def hanging(*rows: tuple[Text | str, Text | str]) -> Table:
    """Rows of (label, text): a wrapped text goes on under its own start, not at column 0."""
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    for label, text in rows:
        table.add_row(label, text)
    return table


def _finding(f: Finding) -> Table:
    mark, style = MARKS[f.status]
    message = Text(f.message)
    message.append(f" [{f.id}]", style="gpuwiz.context")
    body: list = [message]
    if f.fix and f.status in (Status.FAIL, Status.WARN):
        body.append(hanging((Text("fix:", style="gpuwiz.fix"), Text(f.fix))))
    table = Table.grid(padding=(0, 1))
    table.add_column(width=1, no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    table.add_row(Text(mark, style=style), Group(*body))
    return table


def _diff(text: str) -> Table:
    """One row a line: the +/- sign in its own column, so a folded line stays right of it."""
    table = Table.grid(padding=(0, 1))
    table.add_column(width=3, no_wrap=True)
    table.add_column(width=1, no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    for line in text.splitlines():
        if line.startswith(("---", "+++")):  # the file names: a header, not a line taken or added
            table.add_row("", "", Text(line, style="bold"))
            continue
        sign, rest = (line[:1], line[1:]) if line[:1] in "+- @" else ("", line)
        style = "gpuwiz.added" if sign == "+" else "gpuwiz.removed" if sign == "-" else "gpuwiz.context"
        if sign == "@":  # a hunk head stays one word: "@@ -0,0 +1,5 @@"
            sign, rest = "", line
        table.add_row("", Text(sign, style=style), Text(rest, style=style))
    return table


def _step(n: int, step: Step) -> Group:
    head = Text(f"{n}. {step.title}", style="bold")
    if step.needs_root:
        head.append(" (root)", style="gpuwiz.context")
    rows: list = [head]
    lines: list[tuple[Text | str, Text | str]] = []
    if step.why:
        lines.append(("", Text(step.why, style="italic")))
    if step.interactive:
        lines.append(("", Text("asks you at the terminal", style="gpuwiz.attention")))
    if step.argv:
        lines.append((Text("$", style="gpuwiz.command"), Text(shlex.join(step.argv), style="gpuwiz.command")))
    if lines:
        rows.append(_indented(lines))
        lines = []
    if step.edit:
        rows.append(_indented([("", f"edit {step.edit.path}")]))
        rows.append(_diff(shown_diff(step.edit)))  # a Kubernetes manifest as YAML
    for unit in step.restarts:
        lines.append((Text("$", style="gpuwiz.command"), Text(f"systemctl restart {unit}", style="gpuwiz.command")))
    if step.reboot:
        lines.append(("", Text("then: reboot", style="gpuwiz.attention")))
    if lines:
        rows.append(_indented(lines))
    return Group(*rows)


def _indented(lines: list[tuple[Text | str, Text | str]]) -> Table:
    """Three columns in, a label column (`$` or nothing), then text that wraps under itself."""
    table = Table.grid(padding=(0, 0))
    table.add_column(width=3, no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    for label, text in lines:
        table.add_row("", Text.assemble(label, " ") if str(label) else "", text)
    return table


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
        mark, style = BADGES[status]
        title = Text(f"{layer.title}  ", style="bold")
        title.append(
            f" {mark} {status.value.upper()} " if status is Status.FAIL else f"{mark} {status.value.upper()}",
            style=style,
        )
        self.query_one("#summary", Static).update(Group(title, Text(""), *[_finding(f) for f in findings]))
        self.query_one(ChoicesPanel).show(list(choices), values or {})
        parts: list = []
        if steps or notes:
            parts += [Text(""), Text("Plan (runs only after you confirm)", style="bold underline")]
            parts += [_step(n, s) for n, s in enumerate(steps, 1)]
            parts += [Text(note, style="gpuwiz.context") for note in notes]
        if rows:
            parts += [Text(""), Text("Detected", style="bold underline"), _facts_table(rows)]
        if scale_out:
            said, answers = scale_out
            parts += [Text(""), Text("The next GPU node", style="bold underline"), Text(said)]
            parts += [
                _indented([("", Text(line, style="gpuwiz.context")) for line in answers.rstrip("\n").splitlines()])
            ]
        self.query_one("#plan-view", Static).update(Group(*parts))
