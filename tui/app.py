"""The Textual app. It gets the Host (and the profile's name) injected; it never probes itself."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from backends.host import Host

from .screens.help import HelpScreen
from .screens.layers import LayersScreen


class GpuwizApp(App[None]):
    CSS_PATH = "styles/app.tcss"
    TITLE = "gpuwiz"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(self, host: Host, profile_name: str | None = None) -> None:
        super().__init__()
        self.host = host
        self.profile_name = profile_name
        self.sub_title = f"SIMULATED machine: {profile_name}" if profile_name else "this machine"

    def on_mount(self) -> None:
        self.push_screen(LayersScreen())

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())
