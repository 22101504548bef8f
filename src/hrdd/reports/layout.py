"""What both reports share: the document template, page furniture, styles and labels.

"Page x of y" is drawn in one pass: every page prints "Page x of " followed by a PDF form
XObject, and the form holding the page total is defined once the last page is finished (PDF
allows the forward reference). This keeps bookmarks and links on their real pages, which a
canvas that defers whole pages to count them would break, and costs no second layout pass.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, BinaryIO

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Table,
    TableStyle,
)

from hrdd.dates import iso_date
from hrdd.reports.fonts import BODY_FONT, BOLD_FONT, register_fonts
from hrdd.reports.schemas import (
    Citation,
    Identifier,
    MethodologySection,
    PageSize,
    RuleSetRef,
)
from hrdd.reports.text import (
    clean_text,
    escape_for_paragraph,
    fit_plain_text,
    link_markup,
    url_markup,
    wrap_plain_text,
)
from hrdd.scoring.engine import reason_for_unlisted
from hrdd.vocab import (
    AssessmentStatus,
    DatePrecision,
    InvestorAction,
    ListingStatus,
    RiskBand,
    enum_label,
)

ProgressCallback = Callable[[float], None]

PAGE_SIZES: dict[PageSize, tuple[float, float]] = {PageSize.a4: A4, PageSize.letter: LETTER}
SIDE_MARGIN = 18 * mm
TOP_MARGIN = 22 * mm
BOTTOM_MARGIN = 20 * mm
_PAGE_TOTAL_FORM = "hrddPageTotal"
_FURNITURE_FONT_SIZE = 7.5
_FURNITURE_COLOUR = colors.HexColor("#555555")
NO_VALUE = "\N{EN DASH}"
_CELL_PADDING = 3  # each side of a paragraph_table cell
# Room a section needs below its heading (a few table rows), else it starts on the next page.
_SECTION_MIN_SPACE = 100

BAND_COLOURS: dict[RiskBand, colors.Color] = {
    RiskBand.low: colors.HexColor("#2e7d32"),
    RiskBand.medium: colors.HexColor("#f9a825"),
    RiskBand.high: colors.HexColor("#ef6c00"),
    RiskBand.severe: colors.HexColor("#b71c1c"),
}
# Darker shades for text on white, where the chart colours would be hard to read.
BAND_TEXT_COLOURS: dict[RiskBand, colors.Color] = {
    RiskBand.low: colors.HexColor("#1b5e20"),
    RiskBand.medium: colors.HexColor("#8a5a00"),
    RiskBand.high: colors.HexColor("#b34700"),
    RiskBand.severe: colors.HexColor("#b71c1c"),
}
HEADER_BACKGROUND = colors.HexColor("#e8ecf1")
ZEBRA_BACKGROUND = colors.HexColor("#f6f7f9")
GRID_COLOUR = colors.HexColor("#c3c9d1")

ACTION_LABELS: dict[InvestorAction, str] = {
    InvestorAction.monitor: "Monitor",
    InvestorAction.engage: "Engage with the company",
    InvestorAction.escalate_collectively: "Escalate together with other investors",
    InvestorAction.vote_or_file_resolution: "Vote against management or file a resolution",
    InvestorAction.divest_or_exclude: "Divest or exclude (last resort)",
}
SHORT_ACTION_LABELS: dict[InvestorAction, str] = {
    InvestorAction.monitor: "Monitor",
    InvestorAction.engage: "Engage",
    InvestorAction.escalate_collectively: "Escalate jointly",
    InvestorAction.vote_or_file_resolution: "Vote / resolution",
    InvestorAction.divest_or_exclude: "Divest / exclude",
}
# A private company holds no shareholder votes: the same rung is the investor's governance
# rights there (STAP: through the fund manager, the LP advisory committee, side letters).
_PRIVATE_FORMAL_RIGHTS = "Use governance rights: fund manager, LP advisory committee, side letter"
_PRIVATE_FORMAL_RIGHTS_SHORT = "Governance rights"


def action_label(action: InvestorAction, listed: bool) -> str:
    if action is InvestorAction.vote_or_file_resolution and not listed:
        return _PRIVATE_FORMAL_RIGHTS
    return ACTION_LABELS[action]


_DEFUNCT_WORDS = (
    "The company is recorded as defunct, so there may be no one left to engage: direct the "
    "asks to whoever holds its assets, to its successors or to the fund that held it, and "
    "keep the record for claims to remedy."
)


def action_reason(reason: str, listed: bool, status: ListingStatus | None = None) -> str:
    """The engine's reason, worded for a private company as its action label is, and, for a
    defunct company, who the asks can still go to (the engine's action does not know)."""
    if not listed:
        reason = reason_for_unlisted(reason)
    if status is ListingStatus.defunct:
        reason = f"{reason.rstrip()} {_DEFUNCT_WORDS}"
    return reason


def short_action_label(action: InvestorAction, listed: bool) -> str:
    if action is InvestorAction.vote_or_file_resolution and not listed:
        return _PRIVATE_FORMAL_RIGHTS_SHORT
    return SHORT_ACTION_LABELS[action]


def company_status_label(status: ListingStatus | None) -> str | None:
    """The status a reader must see before acting on a company (Delisted, Defunct); None
    for a listed or private company, which the recommended actions already tell apart."""
    if status in (ListingStatus.delisted, ListingStatus.defunct):
        return enum_label(status)
    return None


def with_company_status(name: str, status: ListingStatus | None) -> str:
    """A company's or holding's name, marked when its company is delisted or defunct."""
    label = company_status_label(status)
    return name if label is None else f"{name} (company {label.lower()})"


def format_money(value: Decimal | None, currency: str) -> str:
    return NO_VALUE if value is None else f"{value:,.2f} {currency}"


def format_share(share: Decimal | float | None) -> str:
    return NO_VALUE if share is None else f"{float(share) * 100:.1f}%"


def format_weight(weight: Decimal | None) -> str:
    """Portfolio weights are often below 0.1%, so two decimals."""
    return NO_VALUE if weight is None else f"{float(weight) * 100:.2f}%"


def format_score(score: float | None) -> str:
    return NO_VALUE if score is None else f"{score:.1f}"


def format_date(day: date | None, precision: DatePrecision = DatePrecision.day) -> str:
    return NO_VALUE if day is None else iso_date(day, precision)


def owned_period(
    owned_from: date | None, owned_until: date | None, precision: DatePrecision
) -> str:
    """A stake's period as far as its link knows it: 'since 2021-08', '2014 to 2019'."""
    if owned_from is None and owned_until is None:
        return "dates not recorded"
    if owned_until is None:
        return f"since {format_date(owned_from, precision)}"
    return f"{format_date(owned_from, precision)} to {format_date(owned_until, precision)}"


def format_identifiers(identifiers: Sequence[Identifier]) -> str:
    return "; ".join(f"{identifier.scheme} {identifier.value}" for identifier in identifiers)


@dataclass(frozen=True)
class Styles:
    title: ParagraphStyle
    subtitle: ParagraphStyle
    heading1: ParagraphStyle
    heading2: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    cell_header: ParagraphStyle


def build_styles() -> Styles:
    register_fonts()
    body = ParagraphStyle(
        "hrdd-body",
        fontName=BODY_FONT,
        fontSize=9,
        leading=12.5,
        alignment=TA_LEFT,
        spaceAfter=4,
    )
    return Styles(
        title=ParagraphStyle(
            "hrdd-title", parent=body, fontName=BOLD_FONT, fontSize=22, leading=27, spaceAfter=8
        ),
        subtitle=ParagraphStyle(
            "hrdd-subtitle",
            parent=body,
            fontSize=12,
            leading=16,
            spaceAfter=6,
            textColor=colors.HexColor("#333333"),
        ),
        heading1=ParagraphStyle(
            "hrdd-h1",
            parent=body,
            fontName=BOLD_FONT,
            fontSize=15,
            leading=19,
            spaceBefore=6,
            spaceAfter=8,
            textColor=colors.HexColor("#1b2b40"),
        ),
        heading2=ParagraphStyle(
            "hrdd-h2",
            parent=body,
            fontName=BOLD_FONT,
            fontSize=11,
            leading=14,
            spaceBefore=8,
            spaceAfter=4,
            textColor=colors.HexColor("#1b2b40"),
            keepWithNext=1,
        ),
        body=body,
        small=ParagraphStyle(
            "hrdd-small",
            parent=body,
            fontSize=7.5,
            leading=10,
            spaceAfter=2,
            textColor=colors.HexColor("#333333"),
        ),
        cell=ParagraphStyle("hrdd-cell", parent=body, fontSize=8, leading=10.5, spaceAfter=0),
        cell_header=ParagraphStyle(
            "hrdd-cell-header",
            parent=body,
            fontName=BOLD_FONT,
            fontSize=8,
            leading=10.5,
            spaceAfter=0,
        ),
    )


def paragraph(text: str, style: ParagraphStyle, *, width: float | None = None) -> Paragraph:
    """A Paragraph of untrusted text, escaped; `width` lets right-to-left lines wrap properly."""
    return Paragraph(
        escape_for_paragraph(
            text, line_width=width, font_name=style.fontName, font_size=style.fontSize
        ),
        style,
    )


class SectionHeading(Paragraph):
    """A heading paragraph that also becomes an entry in the PDF outline (bookmarks).

    Built with `section_heading`. A heading too long for the space left is split by reportlab
    into new instances of this class; only the first piece keeps the bookmark.
    """

    outline_key: str | None = None
    outline_title = ""
    outline_level = 0

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        pieces = super().split(available_width, available_height)
        if pieces:
            first = pieces[0]
            first.outline_key = self.outline_key
            first.outline_title = self.outline_title
            first.outline_level = self.outline_level
        return pieces


def section_heading(
    title: str, style: ParagraphStyle, *, level: int, key: str, width: float | None = None
) -> SectionHeading:
    heading = SectionHeading(
        escape_for_paragraph(
            title, line_width=width, font_name=style.fontName, font_size=style.fontSize
        ),
        style,
    )
    # Outline titles are plain PDF strings that viewers lay out themselves: logical order.
    heading.outline_title = " ".join(clean_text(title).split())
    heading.outline_level = level
    heading.outline_key = key
    return heading


def section_start(
    title: str, styles: Styles, *, key: str, keep_with: Sequence[Flowable] = ()
) -> list[Flowable]:
    """A top-level heading that is never left alone at the foot of a page. ``keep_with``: what
    must stay with it, such as a chart, which cannot be split: when they do not fit in the
    space left, they start the next page together."""
    heading = section_heading(title, styles.heading1, level=0, key=key)
    if not keep_with:
        return [CondPageBreak(_SECTION_MIN_SPACE), heading]
    return [CondPageBreak(_SECTION_MIN_SPACE), KeepTogether([heading, *keep_with])]


def paragraph_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Flowable | str]],
    col_widths: Sequence[float],
    styles: Styles,
    *,
    label_column: bool = False,
    extra_style: Iterable[tuple[Any, ...]] = (),
) -> Table:
    """A table whose rows may be taller than a page.

    Cells are either Paragraphs (untrusted text, links) or plain strings, which reportlab draws
    as they are and far faster; plain strings are for our own words and numbers only, as they
    do not get cleaned. A plain string too wide for its column is set as a Paragraph, so that
    it wraps instead of running into the next cell. `label_column` sets the first column in
    bold. splitInRow lets reportlab cut a row across pages instead of failing with a
    LayoutError when one cell (a very long title, say) does not fit on a page.
    """
    body = [
        [
            _wrapped_if_too_wide(
                cell,
                width,
                styles.cell_header if label_column and column == 0 else styles.cell,
            )
            for column, (cell, width) in enumerate(zip(row, col_widths, strict=True))
        ]
        for row in rows
    ]
    table = Table([list(header), *body], colWidths=list(col_widths), repeatRows=1, splitInRow=1)
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), styles.cell.fontName),
        ("FONTSIZE", (0, 0), (-1, -1), styles.cell.fontSize),
        ("LEADING", (0, 0), (-1, -1), styles.cell.leading),
        ("FONTNAME", (0, 0), (-1, 0), styles.cell_header.fontName),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_BACKGROUND),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA_BACKGROUND]),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, GRID_COLOUR),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, GRID_COLOUR),
        ("LEFTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
    ]
    if label_column:
        commands.append(("FONTNAME", (0, 1), (0, -1), styles.cell_header.fontName))
    table.setStyle(TableStyle([*commands, *extra_style]))
    return table


def cell_text_width(column_width: float) -> float:
    """The width text has in a `paragraph_table` column, inside the cell's padding."""
    return column_width - 2 * _CELL_PADDING


def _wrapped_if_too_wide(
    cell: Flowable | str, column_width: float, style: ParagraphStyle
) -> Flowable | str:
    room = cell_text_width(column_width)
    if not isinstance(cell, str) or stringWidth(cell, style.fontName, style.fontSize) <= room:
        return cell
    return paragraph(cell, style, width=room)


def band_cell_style(column: int, row: int, band: RiskBand) -> list[tuple[Any, ...]]:
    """Table style commands printing one plain-string cell in its band's colour, in bold."""
    cell = (column, row)
    return [
        ("TEXTCOLOR", cell, cell, BAND_TEXT_COLOURS[band]),
        ("FONTNAME", cell, cell, BOLD_FONT),
    ]


def citation_markup(citation: Citation) -> str:
    """Publisher, linked title, date, source class and the printed URL."""
    parts = [
        f"<b>{escape_for_paragraph(citation.publisher)}</b>",
        link_markup(citation.url, citation.title),
        format_date(citation.published_on, citation.published_precision),
        enum_label(citation.source_class),
    ]
    markup = ". ".join(parts) + "."
    if citation.url:
        markup += "<br/>" + url_markup(citation.url)
    return markup


def methodology_section(
    sections: Sequence[MethodologySection], styles: Styles, width: float, title: str
) -> list[Flowable]:
    story = section_start(title, styles, key="methodology")
    if not sections:
        return [*story, Paragraph("No methodology text was supplied.", styles.body)]
    for index, section in enumerate(sections):
        story.append(
            section_heading(section.title, styles.heading2, level=1, key=f"methodology-{index}")
        )
        story += [paragraph(text, styles.body, width=width) for text in section.paragraphs]
    return story


class OutlineMark(Flowable):
    """An invisible bookmark: an outline entry for a place that has no printed heading."""

    def __init__(self, title: str, *, key: str, level: int = 0) -> None:
        super().__init__()
        self.outline_title = title
        self.outline_level = level
        self.outline_key = key

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        """Nothing to draw: the document template records the bookmark."""


PLAIN_FONT_SIZE = 7.0
PLAIN_ROW_HEIGHT = 10.5  # a row of one line
_PLAIN_LEADING = PLAIN_FONT_SIZE + 1  # each further line of a row
_PLAIN_PADDING = 2.5
# Lines a cell of a long table wraps to before it is cut with an ellipsis: enough for a reason
# or a list of identifiers, while a 3,000-character name cannot make a row taller than a page.
PLAIN_MAX_LINES = 8


def wrap_plain_row(
    cells: Sequence[str], col_widths: Sequence[float], *, font: str = BODY_FONT
) -> tuple[str, ...]:
    """Clean, reorder and wrap each cell to lines that fit its column in ``font``."""
    return tuple(
        "\n".join(
            wrap_plain_text(
                cell, font, PLAIN_FONT_SIZE, width - 2 * _PLAIN_PADDING, max_lines=PLAIN_MAX_LINES
            )
        )
        for cell, width in zip(cells, col_widths, strict=True)
    )


def _plain_row_height(row: Sequence[str]) -> float:
    lines = max((cell.count("\n") + 1 for cell in row), default=1)
    return PLAIN_ROW_HEIGHT + (lines - 1) * _PLAIN_LEADING


class PlainRowsTable(Flowable):
    """A long table of plain strings, cut into one reportlab Table per page.

    One Table of n rows costs quadratic time when reportlab splits it page after page, and
    Paragraph cells cost far more than strings. Cells are wrapped with `wrap_plain_row`, so
    each row's height follows from its number of lines without measuring: each page gets a
    small Table with the header repeated, built only when it is drawn.
    """

    def __init__(
        self,
        header: Sequence[str],
        rows: Sequence[tuple[str, ...]],
        col_widths: Sequence[float],
        *,
        right_aligned_columns: Sequence[int] = (),
        colour_column: int | None = None,
        row_colours: Sequence[colors.Color | None] | None = None,
        start: int = 0,
        stop: int | None = None,
        row_heights: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self._header = wrap_plain_row(header, col_widths, font=BOLD_FONT)  # drawn in bold
        self._rows = rows
        self._col_widths = list(col_widths)
        self._right_aligned_columns = tuple(right_aligned_columns)
        self._colour_column = colour_column
        self._row_colours = row_colours
        self._start = start
        self._stop = len(rows) if stop is None else stop
        # Measured once for the whole table; the pieces share them.
        self._row_heights = (
            [_plain_row_height(row) for row in rows] if row_heights is None else row_heights
        )
        self._header_height = _plain_row_height(self._header)
        self.work_units = self._stop - self._start

    def _piece(self, start: int, stop: int) -> "PlainRowsTable":
        # A fresh instance: copying this one would carry over reportlab's layout bookkeeping
        # (such as the "postponed once" mark) to the remaining rows.
        return PlainRowsTable(
            self._header,
            self._rows,
            self._col_widths,
            right_aligned_columns=self._right_aligned_columns,
            colour_column=self._colour_column,
            row_colours=self._row_colours,
            start=start,
            stop=stop,
            row_heights=self._row_heights,
        )

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = sum(self._col_widths)
        self.height = self._header_height + sum(self._row_heights[self._start : self._stop])
        return self.width, self.height

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        room = available_height + 1e-6 - self._header_height
        middle = self._start
        while middle < self._stop and self._row_heights[middle] <= room:
            room -= self._row_heights[middle]
            middle += 1
        if middle == self._start:
            return []
        if middle >= self._stop:
            return [self]
        return [self._piece(self._start, middle), self._piece(middle, self._stop)]

    def _table(self) -> Table:
        data = [self._header, *self._rows[self._start : self._stop]]
        commands: list[tuple[Any, ...]] = [
            ("FONTNAME", (0, 0), (-1, -1), BODY_FONT),
            ("FONTNAME", (0, 0), (-1, 0), BOLD_FONT),
            ("FONTSIZE", (0, 0), (-1, -1), PLAIN_FONT_SIZE),
            ("LEADING", (0, 0), (-1, -1), PLAIN_FONT_SIZE + 1),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), _PLAIN_PADDING),
            ("RIGHTPADDING", (0, 0), (-1, -1), _PLAIN_PADDING),
            ("TOPPADDING", (0, 0), (-1, -1), 0),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ("BACKGROUND", (0, 0), (-1, 0), HEADER_BACKGROUND),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA_BACKGROUND]),
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, GRID_COLOUR),
        ]
        commands.extend(
            ("ALIGN", (column, 0), (column, -1), "RIGHT") for column in self._right_aligned_columns
        )
        if self._colour_column is not None and self._row_colours is not None:
            for offset, colour in enumerate(self._row_colours[self._start : self._stop]):
                if colour is not None:
                    cell = (self._colour_column, offset + 1)
                    commands.append(("TEXTCOLOR", cell, cell, colour))
        row_heights = [self._header_height, *self._row_heights[self._start : self._stop]]
        return Table(data, colWidths=self._col_widths, rowHeights=row_heights, style=commands)

    def draw(self) -> None:
        table = self._table()
        table.wrapOn(self.canv, self.width, self.height)
        table.drawOn(self.canv, 0, 0)


class PageCountingCanvas(Canvas):
    """Counts finished pages and defines the page-total form before the file is written."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pages_finished = 0

    def showPage(self) -> None:
        self.pages_finished += 1
        super().showPage()

    def save(self) -> None:
        if len(self._code):
            self.showPage()
        self.beginForm(_PAGE_TOTAL_FORM)
        self.setFont(BODY_FONT, _FURNITURE_FONT_SIZE)
        self.setFillColor(_FURNITURE_COLOUR)
        self.drawString(0, 0, str(self.pages_finished))
        self.endForm()
        super().save()


class ReportDocument(BaseDocTemplate):
    """One page template with a header line, a footer with "Page x of y", and bookmarks."""

    def __init__(
        self,
        out: BinaryIO,
        *,
        page_size: PageSize,
        title: str,
        author: str,
        subject: str,
        header_text: str,
        footer_text: str,
        report_date: date,
        progress: ProgressCallback | None = None,
    ) -> None:
        register_fonts()
        width, height = PAGE_SIZES[page_size]
        super().__init__(
            out,
            pagesize=(width, height),
            leftMargin=SIDE_MARGIN,
            rightMargin=SIDE_MARGIN,
            topMargin=TOP_MARGIN,
            bottomMargin=BOTTOM_MARGIN,
            # Metadata strings are not markup, but control characters and lone surrogates
            # would still break the file.
            title=clean_text(title, keep_newlines=False),
            author=clean_text(author, keep_newlines=False),
            subject=clean_text(subject, keep_newlines=False),
            creator="hrdd",
            producer="hrdd (reportlab)",
            # Same model, same bytes: no wall-clock timestamp or random document id.
            invariant=1,
            lang="en",
        )
        self._header_text = header_text
        self._footer_text = footer_text
        self._report_date = report_date
        self._progress = progress
        self._work_units = 1
        self._work_done = 0
        self._last_reported = 0.0
        frame = Frame(
            self.leftMargin,
            self.bottomMargin,
            self.width,
            self.height,
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
            id="body",
        )
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self._furniture)])

    def build_report(self, story: list[Flowable]) -> None:
        # A row of a long table is one unit of work, any other flowable one more.
        self._work_units = max(sum(getattr(item, "work_units", 1) for item in story), 1)
        self.build(story, canvasmaker=PageCountingCanvas)
        if self._progress is not None:
            self._progress(1.0)

    def beforeDocument(self) -> None:
        # Creation and modification dates are the report date, not the time of rendering.
        day = self._report_date
        self.canv.setDateFormatter(
            lambda *_clock: f"D:{day.year:04d}{day.month:02d}{day.day:02d}000000+00'00'"
        )
        self.canv.showOutline()

    def afterFlowable(self, flowable: Flowable) -> None:
        outline_key = getattr(flowable, "outline_key", None)
        if outline_key is not None:
            self.canv.bookmarkPage(outline_key)
            self.canv.addOutlineEntry(
                flowable.outline_title, outline_key, level=flowable.outline_level
            )
        if self._progress is not None:
            self._work_done += getattr(flowable, "work_units", 1)
            # Split flowables count once per piece, so the estimate is capped below 1 until
            # the file is written; report in 1% steps to keep callbacks cheap.
            fraction = min(self._work_done / self._work_units, 0.99)
            if fraction - self._last_reported >= 0.01:
                self._last_reported = fraction
                self._progress(fraction)

    def _furniture(self, canvas: Canvas, document: BaseDocTemplate) -> None:
        page_width, page_height = document.pagesize
        text_width = page_width - 2 * SIDE_MARGIN
        canvas.saveState()
        canvas.setFont(BODY_FONT, _FURNITURE_FONT_SIZE)
        canvas.setFillColor(_FURNITURE_COLOUR)
        canvas.setStrokeColor(GRID_COLOUR)
        header_y = page_height - TOP_MARGIN + 8 * mm
        canvas.drawString(
            SIDE_MARGIN,
            header_y,
            fit_plain_text(self._header_text, BODY_FONT, _FURNITURE_FONT_SIZE, text_width),
        )
        canvas.line(SIDE_MARGIN, header_y - 2.5, page_width - SIDE_MARGIN, header_y - 2.5)

        footer_y = BOTTOM_MARGIN - 10 * mm
        canvas.line(SIDE_MARGIN, footer_y + 9, page_width - SIDE_MARGIN, footer_y + 9)
        slot_width = canvas.stringWidth("Page 99999 of 99999", BODY_FONT, _FURNITURE_FONT_SIZE)
        page_label = f"Page {canvas.getPageNumber()} of "
        label_x = page_width - SIDE_MARGIN - slot_width
        canvas.drawString(
            SIDE_MARGIN,
            footer_y,
            fit_plain_text(
                self._footer_text, BODY_FONT, _FURNITURE_FONT_SIZE, text_width - slot_width - 6
            ),
        )
        canvas.drawString(label_x, footer_y, page_label)
        canvas.translate(
            label_x + canvas.stringWidth(page_label, BODY_FONT, _FURNITURE_FONT_SIZE), footer_y
        )
        canvas.doForm(_PAGE_TOTAL_FORM)
        canvas.restoreState()


_SCORE_SOURCES = {
    AssessmentStatus.draft: (
        "A draft assessment: work in progress, whose unanswered questions count as gaps"
    ),
    AssessmentStatus.submitted: "A submitted assessment, not yet reviewed",
    AssessmentStatus.final: "A final assessment, reviewed and approved",
    AssessmentStatus.superseded: "A superseded assessment",
}


def score_source(status: AssessmentStatus | None, *, draft_in_progress: bool = False) -> str:
    """What a score rests on, in words: an assessment of this status, or evidence alone (and
    whether a draft, which does not count, is being written)."""
    if status is not None:
        return _SCORE_SOURCES[status]
    if draft_in_progress:
        return (
            "Evidence alone: no submitted assessment yet; a draft assessment is in progress "
            "and does not count until it is submitted"
        )
    return "Evidence alone: no submitted assessment yet"


def rule_set_label(rule_set: RuleSetRef) -> str:
    """'default, version 2 (rules 1a2b3c4d5e6f)': the hash tells a bundled version from an
    organisation's own of the same number, and an own version says so in words."""
    label = f"{rule_set.id}, version {rule_set.version}"
    if rule_set.published_by:
        label += f", {rule_set.published_by}'s own edit of the rules"
    return label + (f" (rules {rule_set.content_hash[:12]})" if rule_set.content_hash else "")


def evidence_suffix(titles: Sequence[str]) -> str:
    """'. Evidence: a; b' naming what fired an override, or nothing (plain text)."""
    return f". Evidence: {'; '.join(titles)}" if titles else ""
