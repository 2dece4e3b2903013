"""`gpuwiz apply` in a plain terminal: the executor's events as lines under a progress bar."""

from __future__ import annotations

from typing import Any, Mapping

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from backends.executor import EventKind, Executor, RunStatus, StepEvent
from backends.plan import Plan
from backends.run_log import RunLog
from backends.run_state import RunState, files_of, save_state

EXIT_OK, EXIT_FAILED, EXIT_REBOOT = 0, 1, 4


def run_plan_in_terminal(
    host: Any, plan: Plan, env: Mapping[str, str], *, selections: Mapping[str, str], profile: str | None
) -> int:
    console = Console(highlight=False, soft_wrap=True)  # piped: one line per line, never re-wrapped
    unicode = console.encoding.lower().startswith("utf")
    ok, failed = ("✓", "✗") if unicode else ("+", "x")
    log = RunLog(None) if host.simulated else RunLog.for_run(env, secrets=getattr(host, "secrets", ()))
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

        def emit(event: StepEvent) -> None:
            out = progress.console if console.is_terminal else console
            n = f"[{event.index + 1}/{total}]"
            if event.kind is EventKind.STARTED:
                out.print(Text(f"{n} {event.step.layer.value}: {event.step.title}", style="bold"))
                progress.update(task, description=event.step.title[:40])
            elif event.kind is EventKind.OUTPUT:
                out.print(Text("    " + event.text, style="dim"), soft_wrap=True)
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
        try:
            outcome = executor.run()
        except KeyboardInterrupt:
            executor.cancel()
            raise
    log.close()
    if not host.simulated:
        save_state(
            env,
            RunState(
                status=outcome.status.value,
                next_step=outcome.next_index,
                steps=tuple(s.id for s in plan.steps),
                selections=dict(selections),
                files=files_of(outcome.writes),
                log=str(log.path or ""),
                profile=profile or "",
            ),
        )
    where = f"; log: {log.path}" if log.path else ""
    if outcome.status is RunStatus.DONE:
        console.print(Text(f"{ok} all {total} steps done{where}", style="bold green"))
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
