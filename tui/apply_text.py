"""`gpuwiz apply` in a plain terminal: the executor's events as lines under a progress bar."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any, Mapping

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from gpuwiz.backends.packages.apt_progress import AptProgress
from gpuwiz.backends.runs.executor import EventKind, Executor, RunStatus, StepEvent
from gpuwiz.backends.runs.plan import Plan
from gpuwiz.backends.runs.run_log import RunLog
from gpuwiz.backends.runs.run_state import RunState, files_of, save_state

from .hangup import HangUpWatch, leave_hung_up_terminal, sighup_ignored, terminal_gone

EXIT_OK, EXIT_FAILED, EXIT_REBOOT, EXIT_CANCELLED = 0, 1, 4, 130
SIMULATED_LIVES = "The simulated machine's changes lived only in this gpuwiz process: there is nothing to roll back."


class _cancel_on_ctrl_c:
    """Ctrl+C during a run: the first stops after the running step (apt or dpkg killed half-way
    leave a package system that needs `dpkg --configure -a`), a second stops that step too."""

    def __init__(self, executor: Executor, console: Console) -> None:
        self.executor = executor
        self.console = console
        self.presses = 0
        self._previous: Any = None

    def _pressed(self, *_: object) -> None:
        self.presses += 1
        if self.presses == 1:
            self.console.print(
                Text("stopping after this step (it is left to finish); Ctrl+C again stops it now", style="bold yellow")
            )
            self.executor.cancel()
        else:
            self.console.print(Text("stopping the running command", style="bold red"))
            self.executor.abort()

    def __enter__(self) -> _cancel_on_ctrl_c:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._pressed)
        return self

    def __exit__(self, *_: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def run_plan_in_terminal(
    host: Any, plan: Plan, env: Mapping[str, str], *, selections: Mapping[str, str], profile: str | None
) -> int:
    console = Console(highlight=False, soft_wrap=True)  # piped: one line per line, never re-wrapped
    unicode = console.encoding.lower().startswith("utf")
    ok, failed = ("✓", "✗") if unicode else ("+", "x")
    simulated = (profile or host.profile.name) if host.simulated else ""
    log = RunLog.for_run(env, secrets=getattr(host, "secrets", ()), simulated_profile=simulated)
    total = len(plan.steps)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    ) as progress:
        task = progress.add_task("plan", total=total)
        apt = [AptProgress()]  # the running step's

        def emit(event: StepEvent) -> None:
            try:
                show(event)
            except OSError:  # the terminal went away while printing: the run goes on to a step's end
                pass

        def show(event: StepEvent) -> None:
            out = progress.console if console.is_terminal else console
            n = f"[{event.index + 1}/{total}]"
            if event.kind is EventKind.STARTED:
                apt[0] = AptProgress()
                out.print(Text(f"{n} {event.step.layer.value}: {event.step.title}", style="bold"))
                progress.update(task, description=event.step.title[:40])
            elif event.kind is EventKind.OUTPUT:
                shown = apt[0].feed(event.text)  # apt's status lines are for the bar, not for people
                if apt[0].label:
                    progress.update(task, description=apt[0].label[:40])
                if shown is not None:
                    out.print(Text("    " + shown, style="dim"), soft_wrap=True)
            elif event.kind is EventKind.SKIPPED:
                out.print(Text(f"    = {event.text}", style="cyan"))
                progress.advance(task)
            elif event.kind is EventKind.FINISHED:
                out.print(Text(f"    {ok} done ({event.elapsed_s:.1f} s)", style="green"))
                progress.advance(task)
            elif event.kind is EventKind.FAILED:
                out.print(Text(f"    {failed} failed: {event.text}", style="bold red"))

        def attached(argv: tuple[str, ...], root: bool) -> int:
            progress.stop()
            try:
                return host.run_attached(argv, root=root)
            finally:
                progress.start()

        executor = Executor(host, plan, emit=emit, log=log, interactive=attached)

        def hung_up() -> None:
            console.file = open(os.devnull, "w")  # noqa: SIM115 — lives until the process ends
            executor.cancel()

        watch = None if sighup_ignored() else HangUpWatch(hung_up)  # under nohup: go on to the end
        with _cancel_on_ctrl_c(executor, console):
            if watch is not None:
                watch.start()
            try:
                outcome = executor.run()
            finally:
                if watch is not None:
                    watch.stop()
    # a step that asked at the terminal fails when its person goes: that is the hang-up too
    # (the watch polls: a print that met the dead terminal first can end the run before it looked)
    hung = (
        watch is not None
        and (watch.hung_up or terminal_gone())
        and outcome.status in (RunStatus.CANCELLED, RunStatus.FAILED)
    )
    if hung:
        log.write(f"the terminal hung up: stopped before step {outcome.next_index + 1}")
    log.close()
    save_state(
        env,
        RunState(
            status="hung-up" if hung else outcome.status.value,
            next_step=outcome.next_index,
            steps=tuple(s.id for s in plan.steps),
            selections=dict(selections),
            files=files_of(outcome.writes),
            log=str(log.path or ""),
            profile=simulated or profile or "",
            simulated=bool(simulated),
        ),
    )
    if hung:
        leave_hung_up_terminal()
    where = f"; log: {log.path}" if log.path else ""
    if outcome.status is RunStatus.CANCELLED:
        console.print(
            Text(
                f"cancelled before step {outcome.next_index + 1} of {total}{where}\n"
                "Run the same command again to go on: steps already done are skipped.",
                style="bold yellow",
            )
        )
        return EXIT_CANCELLED
    if outcome.status is RunStatus.DONE:
        console.print(Text(f"{ok} all {total} steps done{where}", style="bold green"))
        sections = host.unrecorded_after(plan.steps) if host.simulated else ""
        if sections:
            console.print(
                Text(
                    f"(only the files they wrote changed: profile {profile} records nothing else for after them ({sections}))"
                )
            )
        if host.simulated:
            console.print(Text(SIMULATED_LIVES))
        return EXIT_OK
    if outcome.status is RunStatus.REBOOT and host.simulated:
        console.print(Text("A reboot follows (simulated).", style="bold yellow"))
        return EXIT_REBOOT
    if outcome.status is RunStatus.REBOOT:
        console.print(
            Text(
                f"Reboot now (`sudo reboot`), then run the same `gpuwiz apply` again: it goes on with step "
                f"{outcome.next_index + 1} of {total}{where}",
                style="bold yellow",
            )
        )
        return EXIT_REBOOT
    console.print(
        Text(
            f"{failed} stopped at step {outcome.next_index + 1} of {total}: {outcome.failure}{where}\n"
            "Fix it and run the same command again: steps already done are skipped.",
            style="bold red",
        )
    )
    return EXIT_FAILED
