"""LinesView: shows a list of Rich Text lines and repaints only the lines that changed.

Textual repaints a widget whole when its content is replaced; at 1 Hz with dozens of changing
numbers that is most of the monitor's CPU time. Here each line is a Strip rendered once and
kept until that line's text changes, and only changed lines are refreshed (Line API).
"""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class LinesView(Widget):
    DEFAULT_CSS = """
    LinesView {
        height: 1fr;
        width: 1fr;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._lines: list[Text] = []
        self._strips: dict[int, Strip] = {}

    @property
    def lines(self) -> list[Text]:
        return self._lines

    def set_lines(self, lines: list[Text]) -> None:
        old = self._lines
        self._lines = lines
        width = self.size.width
        for y in range(max(len(old), len(lines))):
            if y >= len(old) or y >= len(lines) or old[y] != lines[y]:
                self._strips.pop(y, None)
                self.refresh(Region(0, y, width, 1))

    def on_resize(self) -> None:
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        strip = self._strips.get(y)
        if strip is not None and strip.cell_length == width:
            return strip
        base = self.rich_style
        if y >= len(self._lines):
            strip = Strip.blank(width, base)
        else:
            line = self._lines[y]
            segments = _plain_runs(line, self.app.console, base)
            if segments is None:  # overlapping styles: Rich's general algorithm
                segments = list(Segment.apply_style(line.render(self.app.console, end=""), base))
            strip = Strip(segments).crop_extend(0, width, base)
        self._strips[y] = strip
        return strip


def _plain_runs(text: Text, console: Console, base: Style) -> list[Segment] | None:
    """Segments of a Text whose spans do not overlap, without Rich's span-merging pass (the
    monitor's lines are runs of styled cells; Text.render was most of a line's cost)."""
    plain = text.plain
    root = base + console.get_style(text.style) if text.style else base
    out: list[Segment] = []
    pos = 0
    for span in sorted(text.spans):
        if span.start < pos:
            return None
        if span.start > pos:
            out.append(Segment(plain[pos : span.start], root))
        style = console.get_style(span.style) if isinstance(span.style, str) else span.style
        out.append(Segment(plain[span.start : span.end], root + style))
        pos = span.end
    if pos < len(plain):
        out.append(Segment(plain[pos:], root))
    return out
