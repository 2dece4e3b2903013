"""`--no-unicode`: every cell the app draws in ASCII, each glyph one of the same width.

A line filter (like Textual's own NO_COLOR filter) over everything on screen, so Textual's
widgets (the header's icon, borders, scrollbars, a Select's arrow, the progress bar) and the
texts of findings alike come out ASCII. Heavy and double lines stay heavier than light ones, so
the focused pane keeps its marker: `#====#` around it, `+----+` around the others. The marks
are the CLI's (report_text.ASCII_MARKS): ✓ → +, ✗ → x.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rich.cells import cell_len
from rich.segment import Segment
from textual.color import Color

GLYPHS = {
    "✓": "+",
    "✔": "+",
    "✗": "x",
    "✘": "x",
    "⭘": "=",
    "…": ".",
    "—": "-",
    "–": "-",
    "→": ">",
    "←": "<",
    "↑": "^",
    "↓": "v",
    "▼": "v",
    "▲": "^",
    "▶": ">",
    "◀": "<",
    "·": ".",
    "•": "*",
    "●": "*",
    "○": "o",
    "×": "x",
    "≥": ">",
    "≤": "<",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "\u00a0": " ",
}
SPIN = "|/-\\"


@lru_cache(4096)
def ascii_char(char: str) -> str:
    """The ASCII stand-in for one character, as many cells wide as it is."""
    if char.isascii():
        return char
    width = cell_len(char)
    if width == 0:
        return ""
    if char in GLYPHS:
        return GLYPHS[char] * width
    code = ord(char)
    if 0x2800 <= code <= 0x28FF:  # braille: the run screen's spinner keeps turning
        return SPIN[code % len(SPIN)]
    name = unicodedata.name(char, "")
    if name.startswith("BOX DRAWINGS"):
        heavy = "HEAVY" in name or "DOUBLE" in name
        if " AND " in name or ("HORIZONTAL" in name and "VERTICAL" in name):  # a corner, a tee, a cross
            return "#" if heavy else "+"
        if "HORIZONTAL" in name or name.endswith(("LEFT", "RIGHT")):
            return "=" if heavy else "-"
        return "#" if heavy else "|"
    if name in ("LEFT ONE EIGHTH BLOCK", "RIGHT ONE EIGHTH BLOCK"):  # a thin separator
        return "|"
    if 0x2580 <= code <= 0x259F:  # block elements: thick borders, scrollbar thumbs, bars
        return "#" * width
    plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return (plain or "?")[:width].ljust(width, plain[-1:] or "?")


@lru_cache(4096)
def to_ascii(text: str) -> str:
    return text if text.isascii() else "".join(ascii_char(c) for c in text)


@dataclass(eq=False)  # hashed by identity: Textual caches filtered lines by their filter
class AsciiOnly:
    """A textual.filter.LineFilter by its shape (enabled, apply), as the app's filter list takes it."""

    enabled: bool = True

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [
            segment if segment.control or segment.text.isascii() else Segment(to_ascii(segment.text), segment.style)
            for segment in segments
        ]
