"""The Textual app. It gets the Host (and the profile's name) injected; it never probes itself."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterable, Mapping

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from gpuwiz.backends.machine.host import Host

from .hangup import HangUpWatch, leave_hung_up_terminal
from .screens.help import HELP_TEXT, HelpScreen
from .screens.monitor import MonitorConfig, MonitorScreen
from .severity import severity_theme

if TYPE_CHECKING:
    from .screens.cluster import ClusterConfig


class GpuwizApp(App[None]):
    CSS_PATH = "styles/app.tcss"
    TITLE = "gpuwiz"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(
        self,
        host: Host,
        profile_name: str | None = None,
        monitor: MonitorConfig | ClusterConfig | None = None,
        answers: dict[str, str] | None = None,
        answers_source: str = "",
        user_env: Mapping[str, str] | None = None,
        ascii_only: bool = False,
    ) -> None:
        """`monitor`: start on the monitor (`gpuwiz monitor`, or its cluster view with a ClusterConfig)
        instead of the wizard; `answers`: the
        wizard starts with an answers file's choices, to review before running; `ascii_only`
        (--no-unicode, also the monitor's): every cell drawn in ASCII."""
        super().__init__()
        if ascii_only or (monitor is not None and not monitor.unicode):
            from .ascii import AsciiOnly

            # beside Textual's own NO_COLOR filter, in the pinned textual's list of them (constraints.txt)
            self._filters.append(AsciiOnly())
        # severity in weight and shape under NO_COLOR, in colour otherwise (tui/severity.py)
        self.console.push_theme(severity_theme(self.no_color))
        self.host = host
        # whoever runs gpuwiz: where run logs, run state and answers-file backups go (also when
        # the host is a simulated machine, whose environment is the profile's)
        self.user_env: Mapping[str, str] = dict(os.environ) if user_env is None else user_env
        self.profile_name = profile_name
        self.monitor = monitor
        self.answers = answers or {}
        self.answers_source = answers_source
        self.crash_line: str | None = None  # set when an unexpected error ended the app
        self.active_run = None  # the RunScreen whose steps run, if any
        self._hang_up_watch: HangUpWatch | None = None
        self.sub_title = f"SIMULATED machine: {profile_name}" if profile_name else "this machine"

    def _handle_exception(self, error: Exception) -> None:
        # Textual's own handler prints a full traceback with locals; gpuwiz promises one line and
        # the log's path (exit code 3). Private hook of the pinned textual version (constraints.txt).
        from textual.worker import WorkerFailed

        from gpuwiz.backends.machine.logs import write_crash_log

        if isinstance(error, WorkerFailed):
            error = error.error
        path = write_crash_log(self.user_env, error, ["(wizard)"])
        if self._exception is None:  # keeps Pilot-driven tests raising the real error
            self._exception = error
            self._exception_event.set()
        self.crash_line = f"gpuwiz: internal error ({type(error).__name__}); details in {path}"
        self.exit(return_code=3)

    def on_unmount(self) -> None:
        if self._hang_up_watch is not None:
            self._hang_up_watch.stop()
        self.host.terminate_running()  # a probe still running must not outlive the app

    def _hung_up(self) -> None:
        """The terminal went away (on the watch's thread): a run finishes its step first."""
        run = self.active_run
        if run is None or not run.stop_for_hang_up():
            leave_hung_up_terminal()

    async def action_quit(self) -> None:
        if self.active_run is not None and self.active_run.running:
            self.notify("Steps are running: c stops after the current one.", severity="warning")
            return
        await super().action_quit()

    def _watch_terminal(self) -> None:
        if not self.is_headless:  # a real terminal, which can go away
            self._hang_up_watch = HangUpWatch(self._hung_up)
            self._hang_up_watch.start()

    def on_mount(self) -> None:
        self._watch_terminal()
        if self.monitor is not None and not isinstance(self.monitor, MonitorConfig):
            from .screens.cluster import ClusterScreen  # `monitor --prometheus URL`

            self.title = "gpuwiz cluster"
            self.sub_title = self.monitor.url
            self.push_screen(ClusterScreen(self.monitor))
        elif self.monitor is not None:
            self.title = "gpuwiz monitor"
            self.push_screen(MonitorScreen(self.monitor))
        else:
            from .screens.layers import LayersScreen  # the probes and planners: not for the monitor alone

            resume = self._resumable_run()
            picks = dict(resume.selections) if resume and not self.answers else self.answers
            layers = LayersScreen(picks, self.answers_source)
            if resume is not None:
                layers.open_at = resume_layer(resume)
            self.push_screen(layers)
            if resume is not None:
                self._offer_resume(layers, resume)

    def _resumable_run(self):
        """The last run on this machine if it stopped for a reboot. Not for a simulated machine: a
        new gpuwiz starts it afresh from its profile (within one gpuwiz, see offer_to_go_on)."""
        if self.host.simulated:
            return None
        from gpuwiz.backends.errors import InputError
        from gpuwiz.backends.runs.run_state import load_state

        try:
            state = load_state(self.user_env)
        except InputError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            return None
        return state if state is not None and state.resumable else None

    def offer_to_go_on(self, layers) -> None:
        """After a simulated machine rebooted within this gpuwiz: go on as after a real reboot."""
        from gpuwiz.backends.runs.run_state import load_state

        state = load_state(self.user_env, self.profile_name or self.host.profile.name)
        if state is not None and state.resumable:
            self._offer_resume(layers, state)

    def _offer_resume(self, layers, state) -> None:
        from dataclasses import replace

        from gpuwiz.backends.findings import LAYERS, Layer
        from gpuwiz.backends.runs.run_state import save_state

        from .screens.confirm import ConfirmScreen

        index = resume_layer(state)
        if state.status == "hung-up":
            why = "when its terminal hung up"
        else:
            why = f"for a reboot after {Layer(state.steps[state.next_step - 1].split('.', 1)[0]).title}"
        question = (
            f"The last run stopped {why} (step {state.next_step} of {len(state.steps)} done). "
            f"Go on with {LAYERS[index].title}, with the same choices?"
        )

        def answered(yes: bool | None) -> None:
            save_state(self.user_env, replace(state, status="resumed" if yes else "declined"))
            if yes:
                layers.action_choose(index)

        self.push_screen(ConfirmScreen(question, yes="Go on"), answered)

    def action_monitor(self) -> None:
        if not isinstance(self.screen, MonitorScreen):
            self.push_screen(MonitorScreen(MonitorConfig()))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette (ctrl+p): the screen's own actions first, each with its key, then Textual's."""
        yield from screen_commands(screen)
        yield from super().get_system_commands(screen)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(getattr(self.screen, "HELP_TEXT", HELP_TEXT)))


def resume_layer(state) -> int:
    """The layer a stopped run goes on with: the step it did not get to, or after a layer's whole
    plan the layer after it."""
    from gpuwiz.backends.findings import LAYERS, Layer

    if state.next_step < len(state.steps):
        return LAYERS.index(Layer(state.steps[state.next_step].split(".", 1)[0]))
    done_layer = Layer(state.steps[state.next_step - 1].split(".", 1)[0])
    return min(LAYERS.index(done_layer) + 1, len(LAYERS) - 1)


def key_names(binding: Binding) -> str:
    """A binding's keys as the help and the palette write them: "c / ctrl+c"."""
    names = {"question_mark": "?", "escape": "Esc", "up": "↑", "down": "↓", "pageup": "PgUp", "pagedown": "PgDn"}
    return " / ".join(names.get(k.strip(), k.strip()) for k in binding.key.split(","))


def screen_commands(screen: Screen) -> Iterable[SystemCommand]:
    """Every action the screen binds with a name (the footer's), while it can run, then the extras
    a screen offers for the palette (PALETTE_EXTRAS: title, help, action)."""
    seen: set[str] = set()
    for binding in screen.BINDINGS:
        if not isinstance(binding, Binding) or not binding.description or binding.action in seen:
            continue
        seen.add(binding.action)
        name, _, _ = binding.action.partition("(")
        if name.startswith("app."):
            target, action = screen.app, binding.action[4:]
        else:
            target, action = screen, binding.action
        if screen.check_action(name, ()) is False:
            continue
        yield SystemCommand(
            f"{binding.description} ({key_names(binding)})",
            getattr(screen, "PALETTE_HELP", {}).get(binding.action, ""),
            lambda target=target, action=action: target.run_action(action),
        )
    for title, help_text, action in getattr(screen, "palette_extras", lambda: [])():
        yield SystemCommand(title, help_text, lambda action=action: screen.run_action(action))
