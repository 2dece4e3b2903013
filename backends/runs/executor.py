"""The executor: runs a Plan's Steps through the Host and says what happens as events.

The TUI and `gpuwiz apply` render the same events. Each step checks before it acts (its
`skip_if` guard, or a file that already holds the new text), so running a plan again does not
redo done work. The first failure stops the run there; a step that needs a reboot stops it too
(the caller saves where to resume). Cancel takes effect between steps. Every file is written atomically with a backup, and the
run's writes are returned so `gpuwiz rollback` can put the old files back.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable

from gpuwiz.backends.errors import InputError
from gpuwiz.backends.machine.host import CommandResult, Host, WriteResult
from gpuwiz.backends.runs.file_writes import FileChanged, write_edits
from gpuwiz.backends.runs.plan import Plan, Step
from gpuwiz.backends.runs.run_log import RunLog

STEP_TIMEOUT = 3600.0  # apt installs a driver in minutes; a hung step still ends


class EventKind(str, Enum):
    STARTED = "started"
    OUTPUT = "output"
    SKIPPED = "skipped"  # its check says it is done already
    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True)
class StepEvent:
    kind: EventKind
    index: int
    step: Step
    text: str = ""  # an output line, or why the step failed / was skipped
    elapsed_s: float = 0.0


class RunStatus(str, Enum):
    DONE = "done"
    FAILED = "failed"
    REBOOT = "reboot"  # stopped after a step that needs a reboot
    CANCELLED = "cancelled"


@dataclass
class RunOutcome:
    status: RunStatus
    next_index: int  # where a retry or a resume after the reboot starts
    writes: list[WriteResult] = field(default_factory=list)
    failure: str = ""


class StepFailed(Exception):
    pass


class Executor:
    def __init__(
        self,
        host: Host,
        plan: Plan,
        *,
        emit: Callable[[StepEvent], None],
        log: RunLog | None = None,
        interactive: Callable[[tuple[str, ...], bool], int] | None = None,
    ):
        """`interactive(argv, root)` runs a step that asks at the terminal (it gets the terminal)
        and returns its exit code; without one such steps fail with the command to run by hand."""
        self.host = host
        self.plan = plan
        self.emit = emit
        self.log = log or RunLog(None)
        self.interactive = interactive
        self._cancel = threading.Event()
        self.writes: list[WriteResult] = []  # the current run's writes so far (read from other threads)
        self.in_flight: tuple[int, Step] | None = None  # the step being acted on now

    def cancel(self) -> None:
        """Stop after the step that is running: killing apt or dpkg half-way leaves a package
        system that needs `dpkg --configure -a`. Thread-safe."""
        self._cancel.set()

    def abort(self) -> None:
        """Stop now: the running command is terminated too (a second Cancel)."""
        self._cancel.set()
        self.host.terminate_running()

    def run(self, start: int = 0, *, skip_first: bool = False) -> RunOutcome:
        """Run steps from `start`; `skip_first`: the user chose Skip for the step at `start`."""
        self.writes = []
        outcome = RunOutcome(RunStatus.DONE, len(self.plan.steps), writes=self.writes)
        for index in range(start, len(self.plan.steps)):
            step = self.plan.steps[index]
            if self._cancel.is_set():
                outcome.status, outcome.next_index = RunStatus.CANCELLED, index
                return outcome
            if skip_first and index == start:
                self.log.write(f"## [{index + 1}] {step.title}: skipped by the user")
                self.emit(StepEvent(EventKind.SKIPPED, index, step, "skipped by you"))
                continue
            began = time.monotonic()
            self.log.write(f"## [{index + 1}/{len(self.plan.steps)}] {step.layer.value}: {step.title}")
            self.emit(StepEvent(EventKind.STARTED, index, step))
            try:
                done_already = self._done_already(step)
                if done_already:
                    self.log.write(f"   already done: {done_already}")
                    self.emit(StepEvent(EventKind.SKIPPED, index, step, done_already, time.monotonic() - began))
                else:
                    self._begin(step)
                    self.in_flight = (index, step)
                    acted = False
                    try:
                        write = self._act(index, step)
                        if write is not None:
                            outcome.writes.append(write)
                        for unit in step.restarts:
                            self._command(index, step, ("systemctl", "restart", unit), root=True)
                        acted = True
                    finally:
                        self.in_flight = None
                        self._end(index, step, acted)
                    self.emit(StepEvent(EventKind.FINISHED, index, step, elapsed_s=time.monotonic() - began))
            except StepFailed as exc:
                reason = "cancelled" if self._cancel.is_set() else str(exc)
                self.log.write(f"   FAILED: {reason}")
                self.emit(StepEvent(EventKind.FAILED, index, step, reason, time.monotonic() - began))
                status = RunStatus.CANCELLED if self._cancel.is_set() else RunStatus.FAILED
                outcome.status, outcome.next_index, outcome.failure = status, index, reason
                return outcome
            if step.reboot:
                self.log.write("   a reboot is needed before the next step")
                outcome.status, outcome.next_index = RunStatus.REBOOT, index + 1
                return outcome
        return outcome

    # --- one step --------------------------------------------------------------------------------

    def _begin(self, step: Step) -> None:
        begin = getattr(self.host, "begin_step", None)  # a simulated machine acts the step out
        if begin is not None:
            begin(step)

    def _end(self, index: int, step: Step, acted: bool) -> None:
        end = getattr(self.host, "end_step", None)
        if end is not None:
            last = max(i for i, s in enumerate(self.plan.steps) if s.layer is step.layer)
            end(step, last_of_layer=acted and index == last, ok=acted)

    def _done_already(self, step: Step) -> str:
        if step.edit is not None:
            if self.host.read_text(step.edit.path) == step.edit.new_text:
                return f"{step.edit.path} already says this"
            return ""
        if step.skip_if:
            guard = step.skip_if
            result = self.host.run(guard.argv, root=step.needs_root, timeout=60)
            self.log.command(guard.argv, step.needs_root)
            lines = result.stdout.splitlines() + result.stderr.splitlines()
            if guard.every_line is not None:  # what it printed decides: the log shows it
                for line in lines:
                    self.log.output(line)
            self.log.write(f"   exit {result.returncode}")
            if guard.holds(result.returncode, lines):
                return f"`{' '.join(guard.argv)}` says it is done"
        return ""

    def _act(self, index: int, step: Step) -> WriteResult | None:
        if step.edit is not None:
            edit = step.edit
            self.log.write(f"   write {edit.path} ({len(edit.new_text)} bytes)")
            try:
                (result,) = write_edits(self.host, [edit])
            except FileChanged:
                raise StepFailed(
                    f"{edit.path} changed since the plan was made; plan again to see the new diff"
                ) from None
            except InputError as exc:
                raise StepFailed(str(exc)) from None
            except OSError as exc:
                raise StepFailed(f"cannot write {edit.path}: {exc.strerror or exc}") from None
            self.log.write(f"   backup: {result.backup or '(new file)'}")
            kept = f"; the old one is kept as {result.backup}" if result.backup else ", a new file"
            self._say(index, step, f"wrote {edit.path} ({len(edit.new_text)} bytes{kept})")
            return result
        assert step.argv is not None
        if step.interactive and not getattr(self.host, "simulated", False):
            return self._interactive(step)
        if step.interactive:  # nobody needs the terminal for a simulated machine's answer
            self._say(index, step, "(on a real machine this step asks you at the terminal)")
        self._command(index, step, step.argv, root=step.needs_root)
        return None

    def _interactive(self, step: Step) -> None:
        assert step.argv is not None
        self.log.command(step.argv, step.needs_root)
        if self.interactive is None:
            raise StepFailed(f"this step asks at the terminal: run `{' '.join(step.argv)}` there, then retry")
        code = self.interactive(step.argv, step.needs_root)
        self.log.write(f"   exit {code} (ran at the terminal)")
        if code != 0:
            raise StepFailed(f"exit code {code}")
        return None

    def _say(self, index: int, step: Step, text: str) -> None:
        """A line of the step's output that comes from gpuwiz, not from a command."""
        self.emit(StepEvent(EventKind.OUTPUT, index, step, text))

    def _command(self, index: int, step: Step, argv: tuple[str, ...], *, root: bool) -> CommandResult:
        self.log.command(argv, root)

        def line(text: str) -> None:
            self.log.output(text)
            self.emit(StepEvent(EventKind.OUTPUT, index, step, text))

        result = self.host.run(argv, root=root, timeout=STEP_TIMEOUT, on_output=line)
        self.log.write(f"   exit {result.returncode}")
        if not result.ok:
            last = (result.stderr or result.stdout).strip().splitlines()
            raise StepFailed(f"`{' '.join(argv)}` exited {result.returncode}" + (f": {last[-1]}" if last else ""))
        return result
