"""The main screen: the five layers as a step list, the chosen layer's facts and findings."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList

from gpuwiz.backends.doctor import DoctorReport, run_doctor
from gpuwiz.backends.errors import InputError
from gpuwiz.backends.findings import LAYERS, Layer, Status
from gpuwiz.backends.planners.choices import Choice, effective, with_pick
from gpuwiz.backends.planners.registry import build_plan, offered_choices
from gpuwiz.backends.runs.executor import RunStatus
from gpuwiz.backends.runs.plan import Plan

from ..facts_view import layer_rows
from ..widgets.choices_panel import ChoiceChanged, ChoicesPanel
from ..widgets.layer_detail import LayerDetail
from ..widgets.layer_list import LayerList
from .confirm import ConfirmScreen
from .help import HELP_TEXT

SEVERITY_ORDER = (Status.FAIL, Status.WARN, Status.OK, Status.SKIP)  # what needs action first


class LayersScreen(Screen[None]):
    HELP_TEXT = HELP_TEXT
    BINDINGS = [
        Binding("r", "reprobe", "Re-probe"),
        Binding("x", "run_plan", "Run plan"),
        Binding("a", "save_answers", "Save answers"),
        Binding("m", "app.monitor", "Monitor"),
        Binding("l", "last_log", "Last run's log", show=False),
        Binding("u", "rollback", "Roll back the last run", show=False),
        *[Binding(str(n), f"choose({n - 1})", show=False) for n in range(1, len(LAYERS) + 1)],
    ]

    def __init__(self, picks: dict[str, str] | None = None, answers_source: str = "") -> None:
        """`picks`: choices loaded from an answers file, to review before running."""
        super().__init__()
        self.report: DoctorReport | None = None
        self.plan: Plan | None = None
        self.choices: list[Choice] = []
        self.picks: dict[str, str] = dict(picks or {})  # what the user picked; the rest stays recommended
        self.answers_source = answers_source
        self.open_at: int | None = None  # the layer to open on (a resumed run's); else the first that needs work

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
        choices = offered_choices(report)
        offered = {c.key: c for c in choices}
        # picks that no longer arise (a driver got installed) or no longer fit are dropped on a re-probe
        selections = {k: v for k, v in self.picks.items() if k in offered and offered[k].accepts(v)}
        dropped = sorted(set(self.picks) - set(selections))
        refused = ""
        try:
            plan = build_plan(report, selections, source="choices", layers_alone=True)
        except InputError as exc:
            refused, selections = exc.message, {}
            plan = build_plan(report, {}, source="choices", layers_alone=True)
        self.app.call_from_thread(self._show_report, report, choices, plan, selections)
        if self.answers_source and (dropped or refused):
            said = refused or f"{', '.join(dropped)} do not arise on this machine"
            self.app.call_from_thread(
                self.notify, f"{self.answers_source}: {said} (recommended values used)", timeout=10
            )
        self.answers_source = ""  # said once; later re-probes keep what the user picked

    def _show_report(self, report: DoctorReport, choices: list[Choice], plan: Plan, selections: dict[str, str]) -> None:
        first = self.report is None
        self.report = report
        self.picks = selections
        self.choices = choices
        self.plan = plan
        self.query_one(LayerList).show_statuses({r.layer: r.status for r in report.layers})
        if first and not self.query_one(LayerList).highlighted:  # the user has not moved yet
            index = self.open_at if self.open_at is not None else first_needing_work(report)
            if index:
                self.query_one(LayerList).highlighted = index  # shows that layer's detail
                return
        self._show_detail(self._current())

    def on_choice_changed(self, event: ChoiceChanged) -> None:
        event.stop()
        option = event.choice.option(event.value)
        if option and option.confirm:

            def answered(yes: bool | None) -> None:
                if yes:
                    self._replan(event.choice.key, event.value, event.previous)
                else:
                    self.query_one(ChoicesPanel).revert(event.choice.key, event.previous)

            self.app.push_screen(ConfirmScreen(option.confirm, yes=option.label), answered)
            return
        self._replan(event.choice.key, event.value, event.previous)

    @work(thread=True, exclusive=True, group="plan")
    def _replan(self, key: str, value: str, previous: str) -> None:
        if self.report is None:
            return
        # a pick that needs another choice changed (a branch only NVIDIA's repository has) changes
        # it too, shown in its row and said
        selections, said = with_pick(self.choices, self.picks, key, value)
        try:
            plan = build_plan(self.report, selections, source="choices", layers_alone=True)
        except InputError as exc:
            self.app.call_from_thread(self._refused, key, previous, exc.message)
            return
        self.app.call_from_thread(self._show_plan, plan, selections)
        if said:
            self.app.call_from_thread(self.notify, " ".join(said), title="Also changed", timeout=8)

    def _refused(self, key: str, previous: str, message: str) -> None:
        self.query_one(ChoicesPanel).revert(key, previous)
        self.notify(message, title="Not possible here", severity="error", timeout=8)

    def _show_plan(self, plan: Plan, selections: dict[str, str]) -> None:
        self.plan = plan
        self.picks = selections
        self._show_detail(self._current(), scroll=False)

    def _current(self) -> Layer:
        index = self.query_one(LayerList).highlighted
        return LAYERS[index or 0]

    def _show_detail(self, layer: Layer, scroll: bool = True) -> None:
        detail = self.query_one(LayerDetail)
        if self.report is None:
            detail.show_probing(layer)
            return
        r = self.report.layer(layer)
        findings = tuple(sorted(r.findings, key=lambda f: SEVERITY_ORDER.index(f.status)))
        steps = tuple(s for s in self.plan.steps if s.layer is layer) if self.plan else ()
        notes = tuple(n.text for n in self.plan.notes if n.layer is layer) if self.plan else ()
        choices = tuple(c for c in self.choices if c.layer is layer)
        values = effective(list(choices), self.picks)
        detail.show_layer(
            layer,
            r.status,
            layer_rows(self.report.facts, layer),
            findings,
            steps,
            notes,
            choices,
            values,
            scale_out=self._scale_out() if layer is Layer.K8S else None,
        )
        if scroll:
            self.query_one("#detail-scroll", VerticalScroll).scroll_home(animate=False)

    def _scale_out(self) -> tuple[str, str] | None:
        """On a cluster node: the answers file and the command that bring the next node here."""
        from gpuwiz.backends.planners.node_state import same_state
        from gpuwiz.backends.runs.answers import answers_text

        k8s = self.report.facts.k8s if self.report else None
        if k8s is None or k8s.flavour is None or k8s.api_error:
            return None
        said = (
            "Save these choices (a) as gpuwiz-answers.toml, copy it to the new node once it joined the "
            "cluster, and run there:  sudo gpuwiz apply --answers gpuwiz-answers.toml --yes"
        )
        if k8s.gpu_operator:
            said += " (the GPU Operator runs the device plugin on it by itself; gpuwiz installs its driver, toolkit and runtime)"
        machine = getattr(self.app, "profile_name", None) or k8s.node_name or "this node"
        return said, answers_text(self.choices, self.picks, machine=machine, as_here=same_state(self.report))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_detail(Layer(event.option_id))

    def action_run_plan(self) -> None:
        """Run the chosen layer's steps, after a yes; then probe again (the layer turns green only
        if its checks pass)."""
        from gpuwiz.backends.runs.plan import Plan

        from .run import RunScreen

        layer = self._current()
        steps = tuple(s for s in self.plan.steps if s.layer is layer) if self.plan else ()
        if not steps:
            self.notify(f"{layer.title}: no steps to run here.", timeout=5)
            return
        plan = Plan(steps, tuple(n for n in self.plan.notes if n.layer is layer) if self.plan else ())
        where = "this SIMULATED machine" if self.app.host.simulated else "this machine"  # type: ignore[attr-defined]
        question = f"Run the {len(steps)} step(s) of {layer.title} on {where}? They are the plan on its page."

        def after_run(outcome) -> None:
            self.action_reprobe()
            if outcome is not None and outcome.status is RunStatus.REBOOT and self.app.host.simulated:  # type: ignore[attr-defined]
                self.app.offer_to_go_on(self)  # type: ignore[attr-defined]

        def start(ready: bool | None = True) -> None:
            if ready:
                title = f"{layer.title}: {len(steps)} step(s)"
                self.app.push_screen(RunScreen(plan, title=title, picks=self.picks), after_run)
            else:
                self.notify("Nothing was run: sudo did not get a password.", severity="warning")

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            host = self.app.host  # type: ignore[attr-defined]
            mode = host.sudo_mode() if plan.needs_root and hasattr(host, "sudo_mode") else "root"
            if mode == "none":
                self.notify("These steps need root and there is no sudo: run gpuwiz as root.", severity="error")
            elif mode == "password" and not host.secrets:
                from .password import PasswordScreen

                self.app.push_screen(PasswordScreen(host.user), start)
            else:
                start()

        from gpuwiz.backends.runs.plan_summary import summarize

        from .run_confirm import RunConfirmScreen

        self.app.push_screen(RunConfirmScreen(question, summarize(plan), yes="Run"), answered)

    def action_save_answers(self) -> None:
        from .save_answers import SaveAnswersScreen

        if self.report is None:
            return

        from pathlib import Path

        from gpuwiz.backends.machine.host import backup_dir_default

        backups = backup_dir_default(self.app.user_env)  # type: ignore[attr-defined]

        def write(path: str) -> None:
            from gpuwiz.backends.planners.node_state import same_state
            from gpuwiz.backends.runs.answers import answers_text, save_answers

            machine = getattr(self.app, "profile_name", None) or "this machine"
            text = answers_text(self.choices, self.picks, machine=machine, as_here=same_state(self.report))
            try:
                result = save_answers(Path(path).expanduser(), text, backups)
            except OSError as exc:
                self.notify(f"cannot write {path}: {exc.strerror or exc}", severity="error", timeout=8)
                return
            kept = f" (the old one is in {result.backup})" if result.backup else ""
            self.notify(f"Saved {path}{kept}. On the next node: gpuwiz apply --answers {path}", timeout=10)

        def save(path: str | None) -> None:
            if not path:
                return
            if not Path(path).expanduser().exists():
                write(path)
                return
            question = f"{path} exists. Replace it? The old file is kept under {backups}."
            self.app.push_screen(ConfirmScreen(question, yes="Replace"), lambda yes: write(path) if yes else None)

        self.app.push_screen(SaveAnswersScreen("gpuwiz-answers.toml"), save)  # relative: the current directory

    def action_last_log(self) -> None:
        from .rollback import show_last_log

        show_last_log(self)

    def action_rollback(self) -> None:
        from .rollback import offer_rollback

        offer_rollback(self, after=self.action_reprobe)

    def action_choose(self, index: int) -> None:
        self.query_one(LayerList).highlighted = index

    def palette_extras(self) -> list[tuple[str, str, str]]:
        """For the command palette, beside the bound actions: a jump to each layer, and the run log
        and rollback where a screen for them exists."""
        extras = [
            (f"Go to layer {n}: {layer.title} ({n})", "", f"choose({n - 1})") for n, layer in enumerate(LAYERS, 1)
        ]
        if hasattr(self, "action_run_log"):
            extras.append(("Open the run log", "the last run's full log", "run_log"))
        if hasattr(self, "action_rollback"):
            extras.append(("Roll back the last run", "put back the files it wrote (asks first)", "rollback"))
        return extras


def first_needing_work(report: DoctorReport) -> int:
    """The first layer that failed, else the first with a warning, else the first."""
    for status in (Status.FAIL, Status.WARN):
        for n, r in enumerate(report.layers):
            if r.status is status:
                return LAYERS.index(r.layer) if r.layer in LAYERS else n
    return 0
