"""Long tables set in a monospaced font, one block of text per row: how they print fast.

WeasyPrint lays out and paints every table cell as a box of its own, about a millisecond each: a
G703 of 300 lines in ten columns of cells took two to three seconds. Set as fixed-width text,
one block per row (the figures right-aligned in columns of characters, a long description
wrapped onto the row's next lines), the same sheet prints in a fraction of that, lines up to the
digit, and reads back from the PDF in order. The headers above are ordinary cells, as wide as
their columns of characters.
"""

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

# The advance of every glyph of Liberation Mono and DejaVu Sans Mono, in ems.
CHAR_WIDTH_EM = 0.6
GAP = 2  # spaces between two columns
MAX_WRAPPED_LINES = 3


class Align(StrEnum):
    LEFT = "left"
    RIGHT = "right"


@dataclass(frozen=True)
class Column:
    least: int
    """Characters, at least (more when a cell needs them, but for the wrapping column)."""
    align: Align = Align.RIGHT
    wraps: bool = False
    """Takes the width the others leave, and wraps its text onto the row's next lines."""


@dataclass(frozen=True)
class FixedWidthTable:
    """Each column's width in characters and the font size in points that fits them in the
    width they were given. A left-aligned column's gap is after its text, a right-aligned one's
    before, so a header cell as wide as its column lines up with the text by its own alignment."""

    columns: tuple[Column, ...]
    widths: tuple[int, ...]
    font_size_pt: float

    def row(self, cells: Sequence[str]) -> str:
        """One row as its lines of text: each cell aligned in its column, the wrapping column's
        text carried onto the next lines (cut short after a few, with an ellipsis)."""
        wrapped = [
            _wrapped(cell, width - GAP) if column.wraps else [cell]
            for cell, column, width in zip(cells, self.columns, self.widths, strict=True)
        ]
        lines = []
        for index in range(max(len(parts) for parts in wrapped)):
            line = ""
            for parts, column, width in zip(wrapped, self.columns, self.widths, strict=True):
                part = parts[index] if index < len(parts) else ""
                line += part.rjust(width) if column.align == Align.RIGHT else part.ljust(width)
            lines.append(line.rstrip())
        return "\n".join(lines)

    def width_pt(self, index: int) -> float:
        return round(self.widths[index] * CHAR_WIDTH_EM * self.font_size_pt, 2)


def fixed_width_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    available_pt: float,
    largest_font_pt: float = 7.5,
) -> FixedWidthTable:
    """Columns as wide as their widest cell (at least their `least`), in the largest font up to
    `largest_font_pt` that fits them in `available_pt`; the wrapping column gets what is left."""
    widths = [column.least for column in columns]
    for cells in rows:
        for index, (cell, column) in enumerate(zip(cells, columns, strict=True)):
            if not column.wraps:
                widths[index] = max(widths[index], len(cell))
    needed = sum(width + GAP for width in widths)
    font_size = round(min(largest_font_pt, available_pt / (needed * CHAR_WIDTH_EM)), 2)
    across = int(available_pt / (font_size * CHAR_WIDTH_EM))
    with_gaps = [width + GAP for width in widths]
    for index, column in enumerate(columns):
        if column.wraps:
            with_gaps[index] += across - needed
    return FixedWidthTable(tuple(columns), tuple(with_gaps), font_size)


def _wrapped(text: str, width: int) -> list[str]:
    lines = textwrap.wrap(" ".join(text.split()), width, break_long_words=True) or [""]
    if len(lines) > MAX_WRAPPED_LINES:
        lines = lines[:MAX_WRAPPED_LINES]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return lines
