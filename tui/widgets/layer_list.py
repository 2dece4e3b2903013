"""The five layers as a step list with status marks."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from gpuwiz.backends.findings import LAYERS, Layer, Status

from ..severity import MARKS

PENDING = ("…", "gpuwiz.pending")


def _label(n: int, layer: Layer, status: Status | None) -> Text:
    mark, style = MARKS[status] if status else PENDING
    text = Text(f"{n}. ")
    text.append(mark, style=style)
    text.append(f" {layer.title}")
    return text


class LayerList(OptionList):
    """Dumb: shows what it is given; the screen decides what that is."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            *[Option(_label(n, layer, None), id=layer.value) for n, layer in enumerate(LAYERS, 1)], **kwargs
        )

    def show_statuses(self, statuses: dict[Layer, Status]) -> None:
        for n, layer in enumerate(LAYERS, 1):
            self.replace_option_prompt(layer.value, _label(n, layer, statuses.get(layer)))
