"""The sudo password, asked once when a plan needs root and sudo wants one.

Handed to sudo on stdin (`sudo -S`), kept only in this process's memory, never shown, never
logged. Three tries, like sudo itself.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class PasswordScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, user: str) -> None:
        super().__init__()
        self.user = user
        self.tries = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="password-box"):
            yield Static(
                f"These steps need root, and sudo asks {self.user} for a password.\n"
                "It goes to sudo only and is kept in memory until gpuwiz ends; it is never logged."
            )
            yield Input(password=True, placeholder="sudo password", id="password")
            yield Static("[dim]Enter checks it with sudo, Esc cancels[/dim]", id="password-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        field = self.query_one(Input)
        field.disabled = True
        self._check(event.value)

    @work(thread=True, exclusive=True)
    def _check(self, password: str) -> None:
        ok = self.app.host.set_sudo_password(password)  # type: ignore[attr-defined]
        self.app.call_from_thread(self._checked, ok)

    def _checked(self, ok: bool) -> None:
        if ok:
            self.dismiss(True)
            return
        self.tries += 1
        if self.tries >= 3:
            self.dismiss(False)
            return
        field = self.query_one(Input)
        field.value = ""
        field.disabled = False
        field.focus()
        self.query_one("#password-hint", Static).update("[b red]Sorry, try again.[/b red]")

    def action_cancel(self) -> None:
        self.dismiss(False)
