"""Layout rules both reports rely on, tried on a document built for the purpose."""

import io
from datetime import date

import pytest
from pypdf import PdfReader
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.platypus import Flowable, Spacer

from hrdd.reports.charts import whole_number
from hrdd.reports.layout import ReportDocument, build_styles, section_start
from hrdd.reports.schemas import PageSize

CHART_HEIGHT = 180


def a4_document(out: io.BytesIO) -> ReportDocument:
    return ReportDocument(
        out,
        page_size=PageSize.a4,
        title="Layout test",
        author="hrdd",
        subject="layout",
        header_text="Layout test",
        footer_text="Layout test",
        report_date=date(2026, 1, 1),
    )


def frame_height() -> float:
    """The height of the body frame of an A4 page."""
    return float(a4_document(io.BytesIO()).height)


def rendered(story: list[Flowable]) -> bytes:
    out = io.BytesIO()
    a4_document(out).build_report(story)
    return out.getvalue()


def chart() -> Drawing:
    drawing = Drawing(400, CHART_HEIGHT)
    drawing.add(Rect(0, 0, 400, CHART_HEIGHT))
    return drawing


def page_of(pdf: bytes, text: str) -> int:
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    return next(number for number, page_text in enumerate(pages, start=1) if text in page_text)


@pytest.mark.parametrize("room_left", [110, 150, 190])
def test_a_heading_kept_with_a_chart_moves_to_the_next_page_with_it(room_left: int) -> None:
    styles = build_styles()
    filler_height = frame_height() - room_left
    story: list[Flowable] = [
        Spacer(1, filler_height),
        *section_start("Chart section", styles, key="chart", keep_with=[chart()]),
    ]
    pdf = rendered(story)
    # Heading (about 33 pt with its spacing) and chart do not fit in the room left: both go
    # to page 2, and page 1 ends with the filler, not with a lone heading.
    assert page_of(pdf, "Chart section") == 2
    outline = PdfReader(io.BytesIO(pdf)).outline
    assert [item.title for item in outline] == ["Chart section"]


def test_a_heading_and_chart_that_fit_stay_on_the_page() -> None:
    styles = build_styles()
    story: list[Flowable] = [
        Spacer(1, frame_height() - CHART_HEIGHT - 80),
        *section_start("Chart section", styles, key="chart", keep_with=[chart()]),
    ]
    assert page_of(rendered(story), "Chart section") == 1


def test_chart_labels_round_half_up_as_the_tables_do() -> None:
    """'%.0f' rounds half to even: a theme at 62.5 read 62 beside one at 37.5 reading 38."""
    assert [whole_number(value) for value in (62.5, 37.5, 0.5, 99.4, 0.0)] == [
        "63",
        "38",
        "1",
        "99",
        "0",
    ]
