"""Help: what the screen shows and the keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_TEXT = """\
[b]gpuwiz[/b] checks a machine bottom up: hardware → driver → toolkit →
runtime → Kubernetes. Each layer shows its findings (✓ ok  ! warning
✗ failed, with its fix  - skipped), choices (* recommended), the plan.

[b]Keys[/b]
  ↑/↓ or 1-5   choose a layer
  Tab          details (↑/↓ PgUp/PgDn scroll), then each choice
  Enter / Esc  open / close a choice
  x            run this layer's plan (after a yes)
  a            save the choices as an answers file for the next node
  r            probe the machine again
  m            the GPU monitor
  ctrl+p       every action by name (the command palette)
  ?            this help
  q            quit

Headless: gpuwiz doctor [--json], gpuwiz plan [--format sh]."""

RUN_HELP_TEXT = """\
[b]Running a layer's plan[/b]: each step's output streams into the log
below, with a progress bar and the running step's time. Steps check
before they act, so running again skips what is done. A failed step
stops the run there; every run is logged in full, secrets redacted.

[b]Keys[/b]
  c / ctrl+c   cancel: the step finishes first; c again stops it now
  r            retry: go on from the step that failed or was cancelled
  s            skip the failed step and go on with the next
  q / Esc      back to the layers (the layer is probed again)
  l            the run's whole log (a scrollable viewer)
  y            copy the step's command to the clipboard (OSC 52, over SSH too)
  ctrl+p       every action by name (the command palette)
  ?            this help

Headless: gpuwiz apply --answers FILE, gpuwiz rollback [--dry-run]."""

MONITOR_HELP_TEXT = """\
[b]The monitor[/b] reads every GPU through NVML every --interval s: one
line per GPU when narrow, full panels with a graph when wide.

[b]Keys[/b]
  m        graph: utilisation, memory, power, temperature
  f        pick a GPU: its details, and only its processes
  u        only one user's processes
  s / S    sort by the next column (memory, SM%, MBW%, CPU…) / reverse
  ↑/↓      select a process (PgUp/PgDn)
  enter    the process whole: command line, parents
  t / K    send it SIGTERM / SIGKILL (asks first; off with --readonly)
  p        pause
  d        the driver layer (from the wizard, while NVML cannot start)
  ctrl+p   every action by name (the command palette)
  ?        this help
  q / Esc  close

Headless: gpuwiz monitor --once (a table), --json (help monitor-json)."""


TEXT_VIEW_HELP_TEXT = """\
[b]The viewer[/b] shows a run's whole log (secrets redacted) or one file's
diff from the plan; the heading says which, and where the file is. Long
lines are not wrapped: scroll sideways.

[b]Keys[/b]
  ↑/↓ PgUp/PgDn  scroll up and down
  ←/→            scroll sideways
  home / end     the top / the end
  y              copy the file's path to the clipboard (OSC 52)
  ctrl+p         every action by name (the command palette)
  ?              this help
  q / Esc        back

Headless: the log is a plain file in $XDG_STATE_HOME/gpuwiz/logs/."""

RUN_CONFIRM_HELP_TEXT = """\
[b]Before a run[/b]: the question lists what the plan will change: files
created or edited (each one's diff a key away), files commands write,
packages installed, removed or held, services, a reboot. Nothing has run.

[b]Keys[/b]
  ↑/↓            highlight a change
  Enter / d      the highlighted file's diff
  y              run the plan
  n / Esc        do not run it
  ctrl+p         every action by name (the command palette)
  ?              this help

Headless: gpuwiz plan (the same summary), gpuwiz apply --dry-run."""

ROLLBACK_HELP_TEXT = """\
[b]Rollback[/b] puts back the files the last run wrote: each one created
is removed, each one edited gets its old content back. Packages and
services the run changed stay as they are.

[b]Keys[/b]
  ↑/↓            scroll the list of files
  y              roll back
  n / q / Esc    close (nothing is changed)
  ctrl+p         every action by name (the command palette)
  ?              this help

Headless: gpuwiz rollback [--dry-run]."""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, text: str = HELP_TEXT) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(self.text, id="help-text")
            yield Static("[dim]Esc closes; ↑/↓ scroll[/dim]", id="help-close")

    def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
