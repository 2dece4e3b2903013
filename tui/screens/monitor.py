"""The monitor: live GPU panels and processes, sampled on a worker thread.

The worker samples NVML at the interval (a poll starts only after the previous one finished),
renders the lines there, and hands them to a LinesView that repaints only changed lines. It
samples nothing while a modal is open or the app is suspended. When the terminal goes away the
app ends (tui/hangup.py): an SSH session that dropped would otherwise leave it spinning.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import get_current_worker

from gpuwiz.backends.machine.host_stats import HostStatsReader
from gpuwiz.backends.machine.processes import in_initial_pid_namespace
from gpuwiz.backends.nvml.gpu_selection import selected_gpus
from gpuwiz.backends.nvml.history import METRICS, History
from gpuwiz.backends.nvml.sample import GpuProcess, MonitorSample
from gpuwiz.backends.nvml.sampler import NvmlSampler

from ..monitor_view import HOST_LINE_FROM, SORT_KEYS, ViewOptions, render, visible_processes
from ..widgets.lines_view import LinesView
from .confirm import ConfirmScreen
from .help import MONITOR_HELP_TEXT


@dataclass
class MonitorConfig:
    interval: float = 1.0
    readonly: bool = False
    unicode: bool = True
    standalone: bool = False  # `gpuwiz monitor`: q quits; from the wizard: q goes back
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    history: History = field(default_factory=History)
    retry_s: float = 5.0
    only: tuple[str, ...] | None = None  # --only / --only-visible: indexes or UUIDs (gpu_selection)
    user: str | None = None  # --user: start with only this user's processes


class MonitorScreen(Screen[None]):
    HELP_TEXT = MONITOR_HELP_TEXT
    BINDINGS = [
        Binding("q", "leave", "Close"),
        Binding("escape", "leave", show=False),
        Binding("m", "metric", "Graph"),
        Binding("s", "sort", "Sort"),
        Binding("S", "sort_reverse", "Reverse sort", show=False),
        Binding("enter", "details", "Details", show=False),
        Binding("f", "gpu_filter", "GPU"),
        Binding("u", "user_filter", "User"),
        Binding("t", "signal('TERM')", "TERM"),
        Binding("K", "signal('KILL')", "KILL", show=False),  # in the help and the palette: the footer fits 80
        Binding("p", "pause", "Pause"),
        Binding("d", "driver_layer", "Driver"),
        Binding("up", "move(-1)", show=False),
        Binding("down", "move(1)", show=False),
        Binding("pageup", "move(-10)", show=False),
        Binding("pagedown", "move(10)", show=False),
    ]

    def __init__(self, config: MonitorConfig | None = None) -> None:
        super().__init__()
        self.config = config or MonitorConfig()
        self.history = self.config.history
        self.sample: MonitorSample | None = None
        self.options = ViewOptions(
            width=80,
            height=24,
            unicode=self.config.unicode,
            interval=self.config.interval,
            user_filter=self.config.user,
        )
        self._gpu_on_bus: bool | None = None  # asked of the PCI bus once NVML cannot start
        self._lock = threading.Lock()  # the worker adds to the history while a key re-renders
        self._wake = threading.Event()
        self._suspended = False
        self._had_problem = False
        self._stop = threading.Event()

    def compose(self) -> ComposeResult:
        # --no-unicode: ASCII only, also the title bar's icon and the footer's palette separator
        yield Header(icon="" if self.config.unicode else "=")
        yield LinesView(id="monitor-lines")
        yield Footer(classes="" if self.config.unicode else "-ascii")

    def on_mount(self) -> None:
        self.app.app_suspend_signal.subscribe(self, lambda _: setattr(self, "_suspended", True))
        self.app.app_resume_signal.subscribe(self, lambda _: setattr(self, "_suspended", False))
        self.options = replace(self.options, no_color=self.app.no_color)
        self._size_options()
        self._redraw()
        self._poll()

    def on_unmount(self) -> None:
        self._stop.set()
        self._wake.set()

    # --- the worker ----------------------------------------------------------------------------

    def _active(self) -> bool:
        return not self._suspended and not self.options.paused and self.app.screen is self

    @work(thread=True, exclusive=True, group="monitor")
    def _poll(self) -> None:
        worker = get_current_worker()
        host = self.app.host  # type: ignore[attr-defined]
        sampler = NvmlSampler(
            host.nvml(),
            process_info=host.process_info,
            clock=self.config.clock,
            wall_clock=self.config.wall_clock,
            retry_s=self.config.retry_s,
            hostname=self._hostname(host),
        )
        host_stats = HostStatsReader(host.read_text)
        try:
            while not worker.is_cancelled and not self._stop.is_set():
                started = time.monotonic()
                if self._active() or self.sample is None:
                    sample = sampler.sample()
                    if self.options.width >= HOST_LINE_FROM:  # narrower monitors have no host line
                        sample = replace(sample, host=host_stats.read())
                    if sample.problem and self._gpu_on_bus is None:
                        self._gpu_on_bus = self._nvidia_on_bus(host)
                        self.options = replace(self.options, gpu_on_bus=self._gpu_on_bus)
                    if self.config.only is not None and not sample.problem:
                        self.options = replace(self.options, only=selected_gpus(self.config.only, sample.nvml.gpus))
                    with self._lock:
                        self.history.add(sample)
                        self.sample = sample
                        lines = render(sample, self.history, self._current_options(), self.config.retry_s)
                    self.app.call_from_thread(self._show, lines)
                wait = max(0.0, self.config.interval - (time.monotonic() - started))
                self._wake.wait(wait)
                self._wake.clear()
        finally:
            sampler.close()

    @staticmethod
    def _nvidia_on_bus(host) -> bool:
        """Whether the PCI bus has an NVIDIA display device: without one, "install the driver" is no fix."""
        from gpuwiz.backends.probes.hardware import read_pci_display_devices

        return any(d.vendor_id == "10de" for d in read_pci_display_devices(host))

    def _hostname(self, host) -> str:
        name = (host.read_text("/proc/sys/kernel/hostname") or "").strip()
        profile = getattr(self.app, "profile_name", None)
        return f"{name or profile} (simulated)" if host.simulated else name

    def _current_options(self) -> ViewOptions:
        opts = self.options
        procs = visible_processes(self.sample, opts)
        if procs and opts.selected_pid not in {p.record.pid for p in procs}:
            opts = self.options = replace(opts, selected_pid=procs[0].record.pid)
        return opts

    def _show(self, lines) -> None:
        self.query_one(LinesView).set_lines(lines)
        problem = self.sample is not None and self.sample.problem is not None
        if problem != self._had_problem:  # the footer offers the driver layer only while NVML cannot start
            self._had_problem = problem
            self.refresh_bindings()

    def _redraw(self) -> None:
        with self._lock:
            lines = render(self.sample, self.history, self._current_options(), self.config.retry_s)
        self._show(lines)

    def _size_options(self) -> None:
        view = self.query_one(LinesView)
        size = view.size if view.size.width else self.app.size
        self.options = replace(self.options, width=size.width, height=size.height or None)

    def on_resize(self) -> None:
        self.call_after_refresh(self._after_resize)

    def _after_resize(self) -> None:
        self._size_options()
        self._redraw()

    def _set(self, **changes) -> None:
        self.options = replace(self.options, **changes)
        self._redraw()

    # --- keys ----------------------------------------------------------------------------------

    def action_leave(self) -> None:
        if self.config.standalone:
            self.app.exit()
        else:
            self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        problem = self.sample is not None and self.sample.problem is not None
        if action == "driver_layer":  # the wizard's fix for "NVML cannot start", one key away
            return not self.config.standalone and problem and self._gpu_on_bus is not False
        if action in ("metric", "sort", "sort_reverse", "details", "gpu_filter", "user_filter", "signal", "move"):
            return not problem  # no GPUs to graph, no processes to sort, filter or signal
        return True

    def action_driver_layer(self) -> None:
        self.app.pop_screen()
        layers = self.app.screen
        if hasattr(layers, "action_choose"):
            layers.action_choose(1)

    def action_metric(self) -> None:
        keys = [m.key for m in METRICS]
        key = keys[(keys.index(self.options.metric) + 1) % len(keys)]
        label = next(m.label for m in METRICS if m.key == key)
        self._set(metric=key, message=f"graphs: {label}")

    def action_sort(self) -> None:
        key = SORT_KEYS[(SORT_KEYS.index(self.options.sort) + 1) % len(SORT_KEYS)]
        self._set(sort=key, message="")

    def action_sort_reverse(self) -> None:
        self._set(sort_reverse=not self.options.sort_reverse, message="")

    def action_details(self) -> None:
        """The selected process whole: full command line and its parents (a tree's branch)."""
        from ..monitor_view import MAX_PARENTS, process_detail
        from .text_view import TextViewScreen

        proc = self._selected()
        if proc is None:
            self._set(message="no process selected (↑/↓ picks one)")
            return
        host = self.app.host  # type: ignore[attr-defined]
        parents, seen = [], {proc.record.pid}
        ppid = proc.info.ppid if proc.info else None
        while ppid and ppid not in seen and len(parents) < MAX_PARENTS:
            seen.add(ppid)
            parent = host.process_info(ppid)
            if parent is None:
                break
            parents.append(parent)
            ppid = parent.ppid
        heading, lines = process_detail(proc, parents)
        self.app.push_screen(TextViewScreen(heading, lines))

    def action_gpu_filter(self) -> None:
        count = len(self.sample.nvml.gpus) if self.sample else 0
        only = self.options.only
        order: list[int | None] = [None, *(i for i in range(count) if only is None or i in only)]
        current = self.options.gpu_filter if self.options.gpu_filter in order else None
        self._set(gpu_filter=order[(order.index(current) + 1) % len(order)], message="")

    def action_user_filter(self) -> None:
        users = sorted({p.info.user for p in (self.sample.processes if self.sample else ()) if p.info})
        order: list[str | None] = [None, *users]
        current = self.options.user_filter if self.options.user_filter in order else None
        self._set(user_filter=order[(order.index(current) + 1) % len(order)], message="")

    def action_pause(self) -> None:
        self._set(paused=not self.options.paused, message="")
        self._wake.set()

    def action_move(self, step: int) -> None:
        procs = visible_processes(self.sample, self.options)
        if not procs:
            return
        pids = [p.record.pid for p in procs]
        index = pids.index(self.options.selected_pid) if self.options.selected_pid in pids else 0
        self._set(selected_pid=pids[max(0, min(len(pids) - 1, index + step))], message="")

    def _selected(self) -> GpuProcess | None:
        for p in visible_processes(self.sample, self.options):
            if p.record.pid == self.options.selected_pid:
                return p
        return None

    def action_signal(self, name: str) -> None:
        host = self.app.host  # type: ignore[attr-defined]
        proc = self._selected()
        refusal = None
        if self.config.readonly:
            refusal = "read-only monitor (--readonly): signals are off"
        elif proc is None:
            refusal = "no process selected (↑/↓ picks one)"
        elif proc.info is None:
            refusal = f"PID {proc.record.pid} is not visible here (another PID namespace): signal it where it runs"
        elif not in_initial_pid_namespace(host.readlink("/proc/self/ns/pid")):
            refusal = "gpuwiz runs in a container: NVML's PIDs are the host's, so signals are off here"
        if refusal or proc is None or proc.info is None:
            self._set(message=refusal or "")
            return
        signum = signal.Signals[f"SIG{name}"]
        command = " ".join(proc.info.cmdline)
        if len(command) > 60:
            command = command[:59] + "…"
        question = f"Send SIG{name} to PID {proc.record.pid} ({proc.info.user}, GPU {proc.gpu_index})?\n\n{command}" + (
            "\n\nSIGKILL cannot be caught: the process gets no chance to save its work." if name == "KILL" else ""
        )
        pid = proc.record.pid

        def answered(yes: bool | None) -> None:
            if not yes:
                self._set(message="nothing sent")
                return
            error = host.signal_process(pid, signum)
            self._set(message=error or f"sent SIG{name} to PID {pid}")
            self._wake.set()

        self.app.push_screen(ConfirmScreen(question, yes=f"Send SIG{name}"), answered)
