"""The choices a layer offers, one compact Select per choice, the recommended option marked."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.message import Message
from textual.widgets import Label, Select, Static

from gpuwiz.backends.planners.choices import Choice


def select_id(key: str) -> str:
    return "choice-" + key.replace(".", "-")


class ChoiceChanged(Message):
    def __init__(self, choice: Choice, value: str, previous: str) -> None:
        super().__init__()
        self.choice = choice
        self.value = value
        self.previous = previous


class ChoiceRow(Horizontal):
    def __init__(self, choice: Choice, value: str) -> None:
        super().__init__(classes="choice-row")
        self.choice = choice
        self.value = value

    def compose(self) -> ComposeResult:
        yield Label(self.choice.title, classes="choice-title")
        options = []
        for o in self.choice.options:
            label = o.label + (" *" if o.value == self.choice.recommended else "")
            options.append((f"{label}  {o.note}" if o.note else label, o.value))
        yield Select(options, value=self.value, allow_blank=False, compact=True, id=select_id(self.choice.key))

    def on_descendant_focus(self) -> None:
        # an opened choice drops below its row: the row goes to the middle of the panel first, so
        # the list fits above the panel's bottom border and the footer
        for node in self.ancestors:
            if isinstance(node, ScrollableContainer):
                node.scroll_to_center(self, animate=False)
                break

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value != self.value and isinstance(event.value, str):
            self.post_message(ChoiceChanged(self.choice, event.value, self.value))

    def set_value(self, value: str) -> None:
        """Programmatic change (a refused choice going back): no ChoiceChanged."""
        self.value = value
        select = self.query_one(Select)
        with select.prevent(Select.Changed):
            select.value = value


class ChoicesPanel(Vertical):
    """Dumb: shows the choices and values it is handed and reports what the user picks."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def show(self, choices: list[Choice], values: dict[str, str]) -> None:
        shape = tuple((c.key, c.values) for c in choices)
        if shape == self._shown:
            for row in self.query(ChoiceRow):
                value = values.get(row.choice.key)  # rows of a layout being removed are not in values
                if value is not None and row.value != value:
                    row.set_value(value)
            return
        self._shown = shape
        self.remove_children()
        self.display = bool(choices)
        if not choices:
            return
        widgets = [
            Static("Choices", classes="section-title"),
            Static("Tab reaches them, Enter opens one; * marks the recommended option.", classes="choice-help"),
        ]
        for c in choices:
            widgets.append(ChoiceRow(c, values[c.key]))
            widgets.append(Static(c.reason, classes="choice-reason"))
        self.mount_all(widgets)

    def revert(self, key: str, value: str) -> None:
        for row in self.query(ChoiceRow):
            if row.choice.key == key:
                row.set_value(value)
