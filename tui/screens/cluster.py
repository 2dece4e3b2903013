"""`monitor --prometheus URL`: every node's GPUs, read from a Prometheus server on a worker thread."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import get_current_worker

from gpuwiz.backends.prometheus.cluster import ClusterSample, read_cluster

from ..cluster_view import CLUSTER_SORTS, ClusterOptions, render
from ..widgets.lines_view import LinesView

CLUSTER_HELP_TEXT = """\
[b]The cluster[/b]: every node's GPUs as a Prometheus holds them, from
gpuwiz exporters or dcgm-exporter (a GPU Operator cluster has one).
A node block per Hostname; a scrape target that is down says so.

[b]Keys[/b]
  s            sort the nodes: by name, busiest GPU, fullest memory
  r            read Prometheus again now
  p            pause / go on
  ?            this help
  q / Esc      quit"""


@dataclass
class ClusterConfig:
    url: str
    interval: float = 2.0
    unicode: bool = True
    read: Callable[[str, float], ClusterSample] = read_cluster  # tests hand in a fixed reading
    wall_clock: Callable[[], float] = time.time


class ClusterScreen(Screen[None]):
    HELP_TEXT = CLUSTER_HELP_TEXT
    BINDINGS = [
        Binding("q", "leave", "Quit"),
        Binding("escape", "leave", show=False),
        Binding("s", "sort", "Sort"),
        Binding("r", "refresh_now", "Refresh"),
        Binding("p", "pause", "Pause"),
    ]

    def __init__(self, config: ClusterConfig) -> None:
        super().__init__()
        self.config = config
        self.reading: ClusterSample | None = None
        self.options = ClusterOptions(width=80, unicode=config.unicode, interval=config.interval)
        self._wake = threading.Event()
        self._stop = threading.Event()

    def compose(self) -> ComposeResult:
        yield Header(icon="" if self.config.unicode else "=")
        yield LinesView(id="cluster-lines")
        yield Footer(classes="" if self.config.unicode else "-ascii")

    def on_mount(self) -> None:
        self.options = replace(self.options, no_color=self.app.no_color, width=self.app.size.width)
        self._show()
        self._poll()

    def on_unmount(self) -> None:
        self._stop.set()
        self._wake.set()

    @work(thread=True, exclusive=True, group="cluster")
    def _poll(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled and not self._stop.is_set():
            if not self.options.paused or self.reading is None:
                self.reading = self.config.read(self.config.url, self.config.wall_clock())
                self.app.call_from_thread(self._show)
            self._wake.wait(self.config.interval)
            self._wake.clear()

    def _show(self) -> None:
        self.query_one(LinesView).set_lines(render(self.reading, self.options))

    def on_resize(self) -> None:
        self.call_after_refresh(self._resized)

    def _resized(self) -> None:
        self.options = replace(self.options, width=self.query_one(LinesView).size.width or self.app.size.width)
        self._show()

    def action_leave(self) -> None:
        self.app.exit()

    def action_sort(self) -> None:
        following = CLUSTER_SORTS[(CLUSTER_SORTS.index(self.options.sort) + 1) % len(CLUSTER_SORTS)]
        self.options = replace(self.options, sort=following)
        self._show()

    def action_refresh_now(self) -> None:
        self._wake.set()

    def action_pause(self) -> None:
        self.options = replace(self.options, paused=not self.options.paused)
        self._show()
        self._wake.set()
