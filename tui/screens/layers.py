"""The main screen: the five layers as a step list, the chosen layer's facts and findings."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList

from backends.doctor import DoctorReport, run_doctor
from backends.findings import LAYERS, Layer, Status
from backends.plan import Plan
from backends.planners import build_plan

from ..facts_view import layer_rows
from ..widgets.layer_detail import LayerDetail
from ..widgets.layer_list import LayerList

SEVERITY_ORDER = (Status.FAIL, Status.WARN, Status.OK, Status.SKIP)  # what needs action first


class LayersScreen(Screen[None]):
    BINDINGS = [
        Binding("r", "reprobe", "Re-probe"),
        *[Binding(str(n), f"choose({n - 1})", show=False) for n in range(1, len(LAYERS) + 1)],
    ]

    def __init__(self) -> None:
        super().__init__()
        self.report: DoctorReport | None = None
        self.plan: Plan | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            yield LayerList(id="layers")
            with VerticalScroll(id="detail-scroll"):
                yield LayerDetail(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(LayerList).focus()
        self.action_reprobe()

    def action_reprobe(self) -> None:
        self.query_one(LayerDetail).show_probing(self._current())
        self._probe()

    @work(thread=True, exclusive=True, group="probe")
    def _probe(self) -> None:
        report = run_doctor(self.app.host)  # type: ignore[attr-defined]
        plan = build_plan(report, {})
        self.app.call_from_thread(self._show_report, report, plan)

    def _show_report(self, report: DoctorReport, plan: Plan) -> None:
        self.report = report
        self.plan = plan
        self.query_one(LayerList).show_statuses({r.layer: r.status for r in report.layers})
        self._show_detail(self._current())

    def _current(self) -> Layer:
        index = self.query_one(LayerList).highlighted
        return LAYERS[index or 0]

    def _show_detail(self, layer: Layer) -> None:
        detail = self.query_one(LayerDetail)
        if self.report is None:
            detail.show_probing(layer)
            return
        r = self.report.layer(layer)
        findings = tuple(sorted(r.findings, key=lambda f: SEVERITY_ORDER.index(f.status)))
        steps = tuple(s for s in self.plan.steps if s.layer is layer) if self.plan else ()
        notes = tuple(n.text for n in self.plan.notes if n.layer is layer) if self.plan else ()
        detail.show_layer(layer, r.status, layer_rows(self.report.facts, layer), findings, steps, notes)
        self.query_one("#detail-scroll", VerticalScroll).scroll_home(animate=False)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_detail(Layer(event.option_id))

    def action_choose(self, index: int) -> None:
        self.query_one(LayerList).highlighted = index
