"""Charts drawn with reportlab.graphics: vector drawings that flow like any other flowable."""

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors

from hrdd.reports.fonts import BODY_FONT, register_fonts
from hrdd.reports.layout import BAND_COLOURS, GRID_COLOUR
from hrdd.reports.schemas import BandExposure, RiskPoint, ThemeScore
from hrdd.reports.text import fit_plain_text
from hrdd.vocab import RiskBand, enum_label

_LABEL_SIZE = 7
_THEME_COLOUR = colors.HexColor("#3d5a80")
_CLAIMED_COLOUR = colors.HexColor("#b8c7db")
_LINE_COLOUR = colors.HexColor("#b71c1c")
# Holdings no band covers: grey, as the tables print "Unassessed".
_UNASSESSED_COLOUR = colors.HexColor("#9e9e9e")
_BAND_ORDER = list(RiskBand)
_MAX_TIME_TICKS = 7
_SMALL_AXIS = 10  # up to this maximum a value axis steps by whole units


def _style_value_axis(axis: Any, *, maximum: float | None = None) -> None:
    axis.labels.fontName = BODY_FONT
    axis.labels.fontSize = _LABEL_SIZE
    axis.strokeColor = GRID_COLOUR
    axis.gridStrokeColor = GRID_COLOUR
    axis.gridStrokeWidth = 0.25
    axis.visibleGrid = True
    axis.valueMin = 0
    if maximum is not None:
        axis.valueMax = maximum


def _style_category_axis(axis: Any) -> None:
    axis.labels.fontName = BODY_FONT
    axis.labels.fontSize = _LABEL_SIZE
    axis.strokeColor = GRID_COLOUR


def _empty_chart(width: float, height: float, message: str) -> Drawing:
    drawing = Drawing(width, height)
    drawing.add(
        String(
            width / 2,
            height / 2,
            message,
            fontName=BODY_FONT,
            fontSize=9,
            textAnchor="middle",
            fillColor=colors.HexColor("#555555"),
        )
    )
    return drawing


def theme_bar_chart(themes: Sequence[ThemeScore], width: float) -> Drawing:
    """Commitment score per theme, 0-100, first theme on top: a pale bar for the score the
    answers claim and a dark one for the score verified against the evidence, so the say-do
    gap shows as the difference between the two."""
    register_fonts()
    legend_height = 14
    height = 30 + legend_height + 26 * max(len(themes), 1)
    if not themes:
        return _empty_chart(width, 40, "No theme scores were recorded.")
    label_width = width * 0.38
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x = label_width + 6
    chart.y = 18
    chart.width = width - label_width - 20
    chart.height = height - 26 - legend_height
    # The category axis runs bottom-up, so reverse to keep the model's order top-down. Within
    # a category the first series is drawn lowest, so verified goes first to sit under claimed.
    ordered = list(reversed(themes))
    chart.data = [[t.verified for t in ordered], [t.claimed for t in ordered]]
    chart.categoryAxis.categoryNames = [
        fit_plain_text(theme.title, BODY_FONT, _LABEL_SIZE, label_width) for theme in ordered
    ]
    _style_category_axis(chart.categoryAxis)
    _style_value_axis(chart.valueAxis, maximum=100)
    chart.valueAxis.valueStep = 20
    for index, colour in enumerate((_THEME_COLOUR, _CLAIMED_COLOUR)):
        chart.bars[index].fillColor = colour
        chart.bars[index].strokeColor = None
    chart.barSpacing = 1
    chart.barLabelFormat = whole_number
    chart.barLabels.fontName = BODY_FONT
    chart.barLabels.fontSize = _LABEL_SIZE
    chart.barLabels.nudge = 8
    drawing.add(chart)
    legend_y = height - legend_height + 3
    x = chart.x
    for label, colour in (("Claimed", _CLAIMED_COLOUR), ("Verified", _THEME_COLOUR)):
        drawing.add(Rect(x, legend_y, 8, 8, fillColor=colour, strokeColor=None))
        drawing.add(String(x + 11, legend_y + 1, label, fontName=BODY_FONT, fontSize=_LABEL_SIZE))
        x += 60
    return drawing


def _time_ticks(first: date, last: date) -> list[int]:
    """Ordinal day numbers of month or year starts, at most _MAX_TIME_TICKS of them."""
    span_months = (last.year - first.year) * 12 + last.month - first.month
    if span_months >= 24:
        stride_years = -(-(last.year - first.year + 1) // _MAX_TIME_TICKS)
        return [
            date(year, 1, 1).toordinal()
            for year in range(first.year + 1, last.year + 1, stride_years)
        ] or [first.toordinal()]
    stride_months = max(1, -(-(span_months + 1) // _MAX_TIME_TICKS))
    ticks: list[int] = []
    month_index = first.year * 12 + first.month  # the month after `first` starts the ticks
    while month_index <= last.year * 12 + last.month - 1:
        ticks.append(date(month_index // 12, month_index % 12 + 1, 1).toordinal())
        month_index += stride_months
    return ticks or [first.toordinal()]


def _ordinal_label(ordinal: float) -> str:
    day = date.fromordinal(round(ordinal))
    return f"{day.year}-{day.month:02d}"


def evidence_risk_chart(points: Sequence[RiskPoint], width: float) -> Drawing:
    """Evidence risk (0-100) over time."""
    register_fonts()
    if not points:
        return _empty_chart(width, 40, "No evidence-risk history was recorded.")
    height = 150.0
    drawing = Drawing(width, height)
    plot = LinePlot()
    plot.x = 30
    plot.y = 22
    plot.width = width - 45
    plot.height = height - 32
    plot.data = [[(point.on.toordinal(), point.value) for point in points]]
    first, last = points[0].on, points[-1].on
    padding = 15 if first == last else 0
    plot.xValueAxis.valueMin = first.toordinal() - padding
    plot.xValueAxis.valueMax = last.toordinal() + padding
    plot.xValueAxis.valueSteps = _time_ticks(first, last)
    plot.xValueAxis.labelTextFormat = _ordinal_label
    plot.xValueAxis.labels.fontName = BODY_FONT
    plot.xValueAxis.labels.fontSize = _LABEL_SIZE
    plot.xValueAxis.strokeColor = GRID_COLOUR
    _style_value_axis(plot.yValueAxis, maximum=100)
    plot.yValueAxis.valueStep = 20
    plot.lines[0].strokeColor = _LINE_COLOUR
    plot.lines[0].strokeWidth = 1.4
    plot.lines[0].symbol = makeMarker("FilledCircle", size=2.5, fillColor=_LINE_COLOUR)
    drawing.add(plot)
    return drawing


def _values_by_band(by_band: Sequence[BandExposure]) -> dict[RiskBand, BandExposure]:
    return {exposure.band: exposure for exposure in by_band}


def _band_bar_chart(
    values: list[float], unassessed: float, width: float, value_format: object
) -> Drawing:
    """One bar per band and one for the unassessed holdings, which the bands leave out: a
    chart without it hid a third of a portfolio."""
    values = [*values, unassessed]
    height = 140.0
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x = 48
    chart.y = 20
    chart.width = width - 58
    chart.height = height - 30
    chart.data = [values]
    # On two lines: the five labels share half a page.
    names = [enum_label(band) for band in _BAND_ORDER]
    chart.categoryAxis.categoryNames = [*names, "Un-\nassessed"]
    _style_category_axis(chart.categoryAxis)
    _style_value_axis(chart.valueAxis, maximum=None if any(values) else 1)
    # Whole steps for small counts and shares: otherwise ticks of 0.2 all print as 0 or 1.
    if max(values, default=0.0) <= _SMALL_AXIS:
        chart.valueAxis.valueStep = 1
    chart.valueAxis.labelTextFormat = value_format
    chart.valueAxis.forceZero = True
    chart.bars.strokeColor = None
    for index, band in enumerate(_BAND_ORDER):
        chart.bars[(0, index)].fillColor = BAND_COLOURS[band]
    chart.bars[(0, len(_BAND_ORDER))].fillColor = _UNASSESSED_COLOUR
    chart.barLabelFormat = value_format
    chart.barLabels.fontName = BODY_FONT
    chart.barLabels.fontSize = _LABEL_SIZE
    chart.barLabels.nudge = 6
    drawing.add(chart)
    return drawing


def band_count_chart(by_band: Sequence[BandExposure], unassessed: int, width: float) -> Drawing:
    """Risk distribution: how many holdings sit in each band, and how many are unassessed."""
    register_fonts()
    counts = _values_by_band(by_band)
    values = [float(counts[band].holdings) if band in counts else 0.0 for band in _BAND_ORDER]
    return _band_bar_chart(values, float(unassessed), width, whole_number)


def compact_amount(amount: float) -> str:
    """1234567 -> "1.2m": short axis labels for money."""
    magnitude = abs(amount)
    for threshold, suffix in ((1e12, "tn"), (1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if magnitude >= threshold:
            return f"{amount / threshold:.1f}{suffix}"
    return f"{amount:.0f}"


def band_exposure_chart(
    by_band: Sequence[BandExposure],
    unassessed_value: Decimal,
    unassessed_share: Decimal,
    width: float,
    *,
    by_money: bool,
    has_shares: bool,
) -> Drawing:
    """Exposure: how much money sits in each band and in the unassessed holdings, or, when the
    file gave weights and no market values, what share of the portfolio does."""
    register_fonts()
    if not has_shares:
        return _empty_chart(width, 60, "No market values or weights to show.")
    exposures = _values_by_band(by_band)
    if by_money:
        values = [
            float(exposures[band].value if band in exposures else Decimal(0))
            for band in _BAND_ORDER
        ]
        return _band_bar_chart(values, float(unassessed_value), width, compact_amount)
    shares = [
        float(exposures[band].share_of_value * 100 if band in exposures else Decimal(0))
        for band in _BAND_ORDER
    ]
    return _band_bar_chart(shares, float(unassessed_share * 100), width, _percent)


def _percent(value: float) -> str:
    return f"{whole_number(value)}%"


def whole_number(value: float) -> str:
    """Rounded half up, as the tables print scores: '%.0f' rounds half to even, so a chart
    showed 62.5 as 62 beside 37.5 as 38."""
    return str(Decimal(str(value)).quantize(Decimal(1), ROUND_HALF_UP))
