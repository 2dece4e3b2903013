"""The last run, from the layers screen: its log (a scrollable viewer) and rolling it back (the
files it wrote put back, after a yes that lists each one; the results shown in the same box)."""

from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from gpuwiz.backends.runs.rollback import RollbackAction, apply_rollback, rollback_actions
from gpuwiz.backends.runs.run_state import RunState, load_state

from .help import ROLLBACK_HELP_TEXT
from .text_view import log_view

KEPT = "Packages and services the run changed stay as they are; rollback puts back files."


def simulated_profile(app) -> str:
    """The profile's name when the machine is simulated, else "" (the RunScreen records its runs so)."""
    if not app.host.simulated:
        return ""
    return getattr(app, "profile_name", None) or app.host.profile.name


def last_run(screen: Screen) -> RunState | None:
    """This machine's (or this simulated machine's) last run; None, said, when there is none."""
    from gpuwiz.backends.errors import InputError

    app = screen.app
    try:
        state = load_state(app.user_env, simulated_profile(app))  # type: ignore[attr-defined]
    except InputError as exc:
        screen.notify(str(exc), severity="error", timeout=10)
        return None
    if state is None:
        screen.notify("No run has been recorded here yet.", timeout=5)
    return state


def show_last_log(screen: Screen) -> None:
    state = last_run(screen)
    if state is None:
        return
    view = log_view(state.log, what=f"Log of the last run ({state.status}, {state.started or 'time not recorded'})")
    if isinstance(view, str):
        screen.notify(view, severity="warning", timeout=6)
    else:
        screen.app.push_screen(view)


def offer_rollback(screen: Screen, *, after: Callable[[], None] | None = None) -> None:
    state = last_run(screen)
    if state is None:
        return
    if not state.files:
        screen.notify("The last run wrote no file: there is nothing to roll back.", timeout=6)
        return
    screen.app.push_screen(RollbackScreen(state), lambda changed: after() if changed and after else None)


class RollbackScreen(ModalScreen[bool]):
    """Dismissed with True when something was put back (the wizard probes again)."""

    CSS_PATH = "../styles/runs.tcss"
    HELP_TEXT = ROLLBACK_HELP_TEXT
    BINDINGS = [
        Binding("y", "roll_back", "Roll back"),
        Binding("n,escape,q", "leave", "Close"),
    ]

    def __init__(self, state: RunState) -> None:
        super().__init__()
        self.state = state
        self.actions: list[RollbackAction] | None = None
        self.results: list[str] | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="rollback-box"):
            yield Static(self._question(), id="rollback-text")
            yield OptionList(id="rollback-actions", compact=True)
            yield Static(KEPT, id="rollback-hint")
            with Horizontal(id="rollback-buttons"):
                yield Button("Roll back (y)", variant="error", id="rollback-yes", compact=True)
                yield Button("No (n)", variant="primary", id="rollback-no", compact=True)

    def _question(self) -> str:
        where = "this SIMULATED machine" if self.app.host.simulated else "this machine"  # type: ignore[attr-defined]
        when = f" of {self.state.started}" if self.state.started else ""
        return f"Roll back the last run{when} ({self.state.status}) on {where}? Looking at the files it wrote…"

    def on_mount(self) -> None:
        self.query_one("#rollback-no", Button).focus()
        self._look()

    @work(thread=True, exclusive=True, group="rollback")
    def _look(self) -> None:
        actions = rollback_actions(self.app.host, self.state)  # type: ignore[attr-defined]
        self.app.call_from_thread(self._show_actions, actions)

    def _show_actions(self, actions: list[RollbackAction]) -> None:
        self.actions = actions
        text = self.query_one("#rollback-text", Static)
        listing = self.query_one("#rollback-actions", OptionList)
        if not actions:
            text.update("The files the last run created are gone already: there is nothing to roll back.")
            self.query_one("#rollback-yes", Button).display = False
            return
        n = sum(1 for a in actions if not a.problem)
        text.update(f"{self._question().split('? ', 1)[0]}? {n} of {len(actions)} file(s) can be put back:")
        for action in actions:
            listing.add_option(
                Option(Text.assemble((action.describe(), "gpuwiz.fail" if action.problem else "")), disabled=False)
            )

    def action_roll_back(self) -> None:
        if self.results is not None or self.busy or not self.actions:
            return
        host = self.app.host  # type: ignore[attr-defined]
        mode = host.sudo_mode() if hasattr(host, "sudo_mode") and not host.simulated else "root"
        if mode == "none":
            self.notify(
                "Putting system files back needs root and there is no sudo: run gpuwiz as root.", severity="error"
            )
        elif mode == "password" and not host.secrets:
            from .password import PasswordScreen

            self.app.push_screen(PasswordScreen(host.user), lambda ok: self._apply() if ok else None)
        else:
            self._apply()

    def _apply(self) -> None:
        self.busy = True
        self.query_one("#rollback-text", Static).update("Putting the files back…")
        self._do_rollback()

    @work(thread=True, exclusive=True, group="rollback")
    def _do_rollback(self) -> None:
        lines = apply_rollback(self.app.host, list(self.actions or []))  # type: ignore[attr-defined]
        self.app.call_from_thread(self._show_results, lines)

    def _show_results(self, lines: list[str]) -> None:
        self.busy = False
        self.results = lines
        failed = [line for line in lines if line.startswith("cannot")]
        said = f"Rolled back: {len(lines) - len(failed)} done" + (f", {len(failed)} not possible." if failed else ".")
        self.query_one("#rollback-text", Static).update(Text.assemble((said, "gpuwiz.fail" if failed else "gpuwiz.ok")))
        listing = self.query_one("#rollback-actions", OptionList)
        listing.clear_options()
        listing.add_options(
            [Option(Text.assemble((line, "gpuwiz.fail" if line.startswith("cannot") else ""))) for line in lines]
        )
        self.query_one("#rollback-yes", Button).display = False
        no = self.query_one("#rollback-no", Button)
        no.label = "Close (q)"
        no.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "rollback-yes":
            self.action_roll_back()
        else:
            self.action_leave()

    def action_leave(self) -> None:
        if self.busy:
            self.notify("Putting files back: a moment.", timeout=3)
            return
        self.dismiss(bool(self.results))
