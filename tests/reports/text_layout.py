"""Where text lands on a rendered page: enough to tell that no cell runs into the next one."""

import io
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from hrdd.reports.fonts import BODY_FONT, BOLD_FONT, register_fonts

# The fonts are embedded as subsets named after the DejaVu files they came from.
_FONT_NAMES = {"DejaVuSans-Bold": BOLD_FONT, "DejaVuSans": BODY_FONT}
# Two cells' paddings leave at least 5 pt between their texts (2.5 pt each side in the long
# tables, 3 pt in the others); a little less allows for rounding.
MIN_GAP = 4.0


@dataclass(frozen=True)
class TextRun:
    page: int
    x: float
    y: float
    text: str
    right: float


class _PageRuns:
    """Collects one page's runs from pypdf's text visitor."""

    def __init__(self, page: int) -> None:
        self.page = page
        self.runs: list[TextRun] = []

    def visit(self, text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        shown = text.rstrip("\n")
        if not shown.strip() or not isinstance(font, dict):
            return
        base = str(font.get("/BaseFont", "")).split("+")[-1]
        x, y = tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]
        width = stringWidth(shown, _FONT_NAMES.get(base, BODY_FONT), size)
        last = self.runs[-1] if self.runs else None
        if last is not None and (last.x, last.y) == (x, y):
            # One line in several fonts (bold then regular): pypdf reports each part at the
            # line's start, so the parts are laid end to end.
            self.runs[-1] = TextRun(self.page, x, y, last.text + shown, last.right + width)
            return
        self.runs.append(TextRun(self.page, x, y, shown, x + width))


def text_runs(pdf: bytes) -> list[TextRun]:
    """Every run of text shown on every page, with where it starts and ends."""
    register_fonts()
    runs: list[TextRun] = []
    for number, page in enumerate(PdfReader(io.BytesIO(pdf)).pages, start=1):
        collected = _PageRuns(number)
        page.extract_text(visitor_text=collected.visit)
        runs += collected.runs
    return runs


def crowded_runs(pdf: bytes) -> list[tuple[TextRun, TextRun]]:
    """Pairs of neighbouring runs on one line of one page with less room between them than
    the padding of two table cells leaves: a cell whose text is wider than its column."""
    lines: dict[tuple[int, float], list[TextRun]] = {}
    for run in text_runs(pdf):
        lines.setdefault((run.page, round(run.y, 1)), []).append(run)
    return [
        (left, right)
        for line in lines.values()
        for left, right in pairwise(sorted(line, key=lambda run: run.x))
        if right.x - left.right < MIN_GAP
    ]
