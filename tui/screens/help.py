"""Help: what the screen shows and the keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_TEXT = """\
[b]gpuwiz [/b]checks a machine layer by layer, bottom up:
hardware → driver → container toolkit → container runtime → Kubernetes.

Each layer shows what was detected and its findings:
  ✓ ok   ! warning   ✗ failed   - skipped (with the reason)
A failed finding names its fix. Below: the layer's choices (* marks the
recommended option) and the plan they make; nothing runs without a yes.

[b]Keys[/b]
  ↑/↓ or 1-5   choose a layer
  Tab          details (↑/↓ PgUp/PgDn scroll), then each choice
  Enter / Esc  open / close a choice
  r            probe the machine again
  m            the GPU monitor
  ?            this help
  q            quit

Headless: gpuwiz doctor [--json], gpuwiz plan [--format sh]."""

MONITOR_HELP_TEXT = """\
[b]The monitor[/b] reads every GPU through NVML at the interval (--interval).
Narrow terminals get one line per GPU; wide ones full panels with a graph.
Colours: temperature near the slowdown threshold, power near the cap.

[b]Keys[/b]
  m        graph: utilisation, memory, power, temperature
  f        pick a GPU: its details, and only its processes
  u        only one user's processes
  s        sort processes: memory, CPU, PID, GPU, time, user
  ↑/↓      select a process (PgUp/PgDn)
  t / K    send it SIGTERM / SIGKILL (asks first; off with --readonly)
  p        pause
  d        the driver layer (from the wizard, while NVML cannot start)
  q / Esc  close

Headless: gpuwiz monitor --once (a table), --json (gpuwiz help monitor-json)."""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, text: str = HELP_TEXT) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(self.text, id="help-text")
            yield Static("[dim]Esc closes[/dim]", id="help-close")

    def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
