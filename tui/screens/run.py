"""Running a layer's plan: each step's output live, progress, elapsed time, Cancel, and after a
failure Retry / Skip / Quit. The executor runs on a worker thread; its events go through a
queue that the screen drains every 50 ms and writes in one batch (line-by-line writes from a
thread are ~100× slower)."""

from __future__ import annotations

import queue
import threading
import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, ProgressBar, RichLog, Static

from gpuwiz.backends.packages.apt_progress import AptProgress
from gpuwiz.backends.runs.executor import EventKind, Executor, RunOutcome, RunStatus, StepEvent
from gpuwiz.backends.runs.plan import Plan
from gpuwiz.backends.runs.run_log import RunLog
from gpuwiz.backends.runs.run_state import RunState, files_of, save_state

from ..hangup import leave_hung_up_terminal
from ..severity import MARKS
from .help import RUN_HELP_TEXT

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class RunScreen(Screen[RunOutcome | None]):
    """Dismissed with the outcome (None when nothing ran) so the wizard probes again."""

    HELP_TEXT = RUN_HELP_TEXT
    BINDINGS = [
        Binding("c,ctrl+c", "cancel", "Cancel"),
        Binding("r", "retry", "Retry"),
        Binding("s", "skip", "Skip"),
        Binding("q,escape", "close", "Back"),
        Binding("l", "view_log", "Log"),
        Binding("y", "copy_command", "Copy command"),
    ]

    def __init__(self, plan: Plan, *, title: str, picks: dict[str, str] | None = None) -> None:
        super().__init__()
        self.plan = plan
        self.title_text = title
        # not `selections`: Screen.selections is Textual's text-selection reactive
        self.picks: dict[str, str] = dict(picks or {})
        self.outcome: RunOutcome | None = None
        self.running = False
        self._events: queue.SimpleQueue[StepEvent] = queue.SimpleQueue()
        self._executor: Executor | None = None
        self._log: RunLog | None = None
        self._step_started = 0.0
        self._current = ""
        self._frame = 0
        self._wait_s: int | None = None
        self._apt = AptProgress()
        self._writes: list = []
        self._hang_lock = threading.Lock()
        self._in_executor = False
        self._hung_up = False
        self._cancels = 0
        self._shown_step = None  # the step started last (the failed one after a failure): `y` copies it

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.title_text, id="run-title")
        yield ProgressBar(total=len(self.plan.steps), show_eta=False, id="run-progress")
        yield Static("", id="run-step")
        yield ProgressBar(show_eta=False, id="run-apt")
        yield RichLog(id="run-output", wrap=True, markup=False, highlight=False, max_lines=5000)
        yield Static("", id="run-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#run-apt", ProgressBar).display = False
        host = self.app.host  # type: ignore[attr-defined]
        self._log = RunLog.for_run(
            self.app.user_env,  # type: ignore[attr-defined]
            secrets=getattr(host, "secrets", ()),
            simulated_profile=self._simulated_profile,
        )
        self._executor = Executor(host, self.plan, emit=self._events.put, log=self._log, interactive=self._attached)
        self.set_interval(0.05, self._drain)
        self.app.active_run = self  # type: ignore[attr-defined]
        self._start(0)

    def on_unmount(self) -> None:
        if getattr(self.app, "active_run", None) is self:
            self.app.active_run = None  # type: ignore[attr-defined]

    # --- running ---------------------------------------------------------------------------------

    def _start(self, index: int, *, skip_first: bool = False) -> None:
        self.running = True
        self._cancels = 0
        with self._hang_lock:
            self._in_executor = True
        self._set_status("")
        self.refresh_bindings()
        self._run(index, skip_first)

    @work(thread=True, exclusive=True, group="run")
    def _run(self, index: int, skip_first: bool) -> None:
        assert self._executor is not None
        outcome = self._executor.run(index, skip_first=skip_first)
        with self._hang_lock:
            self._in_executor = False
            hung_up = self._hung_up
        self._record(outcome, hung_up=hung_up)
        self._writes += outcome.writes
        if hung_up:  # nobody is there to see it: the state says where it stopped, then leave
            if self._log is not None:
                self._log.write(f"the terminal hung up: stopped before step {outcome.next_index + 1}")
                self._log.close()
            leave_hung_up_terminal()
        self.app.call_from_thread(self._finished, outcome)

    def stop_for_hang_up(self) -> bool:
        """The terminal went away (called off the main thread): a step in flight is left to finish,
        then the worker records where it stopped and ends gpuwiz. False: nothing is running."""
        with self._hang_lock:
            self._hung_up = True
            busy = self._in_executor
        if not busy or self._executor is None:
            return False
        in_flight = self._executor.in_flight
        if in_flight is not None and in_flight[1].interactive:
            # the person who would answer it is gone, and the TUI that stepped aside for it cannot
            # come back on a dead terminal: record it as not done and leave now
            index = in_flight[0]
            self._record(RunOutcome(RunStatus.CANCELLED, index, writes=list(self._executor.writes)), hung_up=True)
            if self._log is not None:
                self._log.write(f"the terminal hung up during step {index + 1}, which asks at the terminal")
                self._log.close()
            leave_hung_up_terminal()
        self._executor.cancel()
        return True

    @property
    def _simulated_profile(self) -> str:
        """The profile's name when the machine is simulated, else ""."""
        if not self.app.host.simulated:  # type: ignore[attr-defined]
            return ""
        return getattr(self.app, "profile_name", None) or self.app.host.profile.name  # type: ignore[attr-defined]

    def _record(self, outcome: RunOutcome, *, hung_up: bool) -> None:
        """The state file: where a resume starts, which files were written (a simulated machine's
        is kept apart from this machine's, see run_state)."""
        stopped = outcome.status in (RunStatus.CANCELLED, RunStatus.FAILED)
        status = "hung-up" if hung_up and stopped else outcome.status.value
        save_state(
            self.app.user_env,  # type: ignore[attr-defined]
            RunState(
                status=status,
                next_step=outcome.next_index,
                steps=tuple(s.id for s in self.plan.steps),
                selections=dict(self.picks),
                files=files_of([*self._writes, *outcome.writes]),
                log=str(self._log.path if self._log and self._log.path else ""),
                profile=self._simulated_profile,
                simulated=bool(self._simulated_profile),
            ),
        )

    def _attached(self, argv: tuple[str, ...], root: bool) -> int:
        """A step that asks at the terminal: the TUI steps aside while it runs (from the worker)."""

        def run_it() -> int:
            with self.app.suspend():
                return self.app.host.run_attached(argv, root=root)  # type: ignore[attr-defined]

        return self.app.call_from_thread(run_it)

    def _drain(self) -> None:
        lines: list[Text] = []
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            lines += self._show_event(event)
        if lines:
            self.query_one(RichLog).write(Text("\n").join(lines))
        if self.running and self._current:
            self._frame += 1
            spin = (
                SPINNER[self._frame % len(SPINNER)]
                if self.app.console.encoding.startswith("utf")
                else "-\\|/"[self._frame % 4]
            )
            elapsed = time.monotonic() - self._step_started
            line = f"{spin} {self._current}  {elapsed:.0f} s"
            if self._apt.label:
                line += f"  ({self._apt.label})"
            if self._wait_s:  # a wait with a deadline: count down, not a blind spinner
                line += f"  ({max(0.0, self._wait_s - elapsed):.0f} s left of {self._wait_s} s)"
            self.query_one("#run-step", Static).update(line)

    def _show_event(self, event: StepEvent) -> list[Text]:
        n = f"[{event.index + 1}/{len(self.plan.steps)}]"
        bar = self.query_one(ProgressBar)
        if event.kind is EventKind.STARTED:
            self._apt = AptProgress()
            self.query_one("#run-apt", ProgressBar).display = False
            self._step_started = time.monotonic()
            self._current = f"{n} {event.step.title}"
            self._wait_s = event.step.wait_s
            self._shown_step = event.step
            return [Text(f"{n} {event.step.title}", style="bold")]
        if event.kind is EventKind.OUTPUT:
            shown = self._apt.feed(event.text)  # apt's status lines feed the bar, not the log
            if self._apt.fraction is not None:  # apt says how far it is: a bar for the packages
                apt_bar = self.query_one("#run-apt", ProgressBar)
                apt_bar.display = True
                apt_bar.update(total=100, progress=round(100 * self._apt.fraction))
            return [] if shown is None else [Text.from_ansi("    " + shown, style="dim")]
        if event.kind is EventKind.SKIPPED:
            bar.advance(1)
            return [Text(f"    = {event.text}", style="gpuwiz.command")]
        if event.kind is EventKind.FINISHED:
            bar.advance(1)
            apt_bar = self.query_one("#run-apt", ProgressBar)
            if apt_bar.display:  # apt's last status line stops one step short of 100 %
                apt_bar.update(total=100, progress=100)
            return [Text(f"    done ({event.elapsed_s:.1f} s)", style="gpuwiz.ok")]
        return [Text(f"    failed: {event.text}", style="gpuwiz.fail")]

    def _finished(self, outcome: RunOutcome) -> None:
        self._drain()
        self.running = False
        self.outcome = outcome
        self._current = ""
        host = self.app.host  # type: ignore[attr-defined]
        where = f"  Log: {self._log.path}" if self._log and self._log.path else ""
        messages = {
            RunStatus.DONE: ("All steps done. Esc/q: back; the layer is checked again." + where, "gpuwiz.ok"),
            RunStatus.REBOOT: (
                "A reboot is needed now. Reboot, then start gpuwiz again: it offers to go on from here." + where,
                "gpuwiz.warn",
            ),
            RunStatus.CANCELLED: (
                f"Cancelled before step {outcome.next_index + 1} of {len(self.plan.steps)}. r: go on from there, "
                "q: back." + where,
                "gpuwiz.warn",
            ),
            RunStatus.FAILED: (
                f"Step {outcome.next_index + 1} failed: {outcome.failure}\nr: retry  s: skip it  q: back{where}",
                "gpuwiz.fail",
            ),
        }
        if host.simulated:
            sections = host.unrecorded_after(self.plan.steps)
            lives = (
                "\nThe simulated machine's changes live only while this gpuwiz runs: there is nothing to roll "
                "back afterwards." + where
            )
            unrecorded = (
                f" Only the files they wrote changed: this profile records nothing else for after them ({sections})."
                if sections
                else ""
            )
            messages[RunStatus.DONE] = (
                f"All steps done (simulated).{unrecorded} Esc/q: back; the layer is checked again." + lives,
                "gpuwiz.warn" if sections else "gpuwiz.ok",
            )
            messages[RunStatus.REBOOT] = (
                f"The simulated machine rebooted.{unrecorded} Esc/q: back; gpuwiz offers to go on with the next "
                "layer." + lives,
                "gpuwiz.warn",
            )
        text, style = messages[outcome.status]
        self.query_one("#run-step", Static).update("")
        self._set_status(text, style)
        self.refresh_bindings()
        if outcome.status is RunStatus.FAILED:
            self._diagnose(self.plan.steps[outcome.next_index].layer)

    @work(thread=True, exclusive=True, group="diagnose")
    def _diagnose(self, layer) -> None:
        """What the layer's checks say now: the finding behind the failure and its fix."""
        from gpuwiz.backends.doctor import run_doctor
        from gpuwiz.backends.findings import Status

        report = run_doctor(self.app.host)  # type: ignore[attr-defined]
        failing = [f for f in report.layer(layer).findings if f.status in (Status.FAIL, Status.WARN)]
        lines = [Text(f"What the {layer.title} checks say now:", style="bold")]
        for finding in failing[:3]:
            lines.append(Text(f"  {finding.message}  [{finding.id}]", style=MARKS[finding.status][1]))
            if finding.fix:
                lines.append(Text(f"    fix: {finding.fix}", style="gpuwiz.fix"))
        if not failing:
            lines.append(Text("  no failing finding: the step's own output above says why", style="dim"))
        self.app.call_from_thread(self.query_one(RichLog).write, Text("\n").join(lines))

    def _set_status(self, text: str, style: str = "") -> None:
        # a span, not the Text's own style: Textual resolves a span's theme name (gpuwiz.fail) only
        self.query_one("#run-status", Static).update(Text.assemble((text, style)))

    # --- keys ------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        failed = (
            not self.running
            and self.outcome is not None
            and self.outcome.status
            in (
                RunStatus.FAILED,
                RunStatus.CANCELLED,
            )
        )
        if action == "cancel":
            return self.running
        if action in ("retry", "skip"):
            return failed
        return True

    def action_cancel(self) -> None:
        if self._executor is None or not self.running:
            return
        self._cancels += 1
        if self._cancels == 1:
            self._set_status(
                "Stopping after this step: it is left to finish (apt or dpkg stopped half-way need "
                "`dpkg --configure -a`). c again: stop it now.",
                "gpuwiz.warn",
            )
            self._executor.cancel()
        else:
            self._set_status("Stopping the running command…", "gpuwiz.fail")
            self._executor.abort()

    def action_retry(self) -> None:
        if self.outcome is not None and not self.running:
            self._start(self.outcome.next_index)

    def action_skip(self) -> None:
        if self.outcome is not None and not self.running and self.outcome.status is RunStatus.FAILED:
            self._start(self.outcome.next_index, skip_first=True)

    def action_view_log(self) -> None:
        """The run's log file, so far (a step in flight goes on writing it)."""
        from .text_view import log_view

        view = log_view(self._log.path if self._log else None)
        if isinstance(view, str):
            self.notify(view, severity="warning", timeout=6)
        else:
            self.app.push_screen(view)

    def action_copy_command(self) -> None:
        """The shown step's command to the terminal's clipboard (OSC 52: works over SSH too, where
        the terminal allows it); a file edit's path."""
        import shlex

        step = self._shown_step
        if step is None:
            self.notify("No step has started yet.", timeout=4)
            return
        text = shlex.join(step.argv) if step.argv else step.edit.path
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied to the terminal's clipboard: {text}", timeout=5)

    def action_close(self) -> None:
        if self.running:
            self.notify("Steps are running: c cancels after the current one.", severity="warning")
            return
        if self._log is not None:
            self._log.close()
        self.dismiss(self.outcome)
