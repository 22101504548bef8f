"""The portfolio report: where the money is, how risky each holding is, what to do about it."""

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from reportlab.platypus import Flowable, PageBreak, Paragraph, Spacer, Table, TableStyle

from hrdd.portfolios.csv_import import MAX_TOTAL_WEIGHT
from hrdd.portfolios.schemas import ShareBasis
from hrdd.reports.charts import band_count_chart, band_exposure_chart
from hrdd.reports.layout import (
    BAND_TEXT_COLOURS,
    NO_VALUE,
    PLAIN_MAX_LINES,
    OutlineMark,
    PlainRowsTable,
    ProgressCallback,
    ReportDocument,
    Styles,
    action_label,
    action_reason,
    band_cell_style,
    build_styles,
    cell_text_width,
    citation_markup,
    company_status_label,
    evidence_suffix,
    format_identifiers,
    format_money,
    format_score,
    format_share,
    format_weight,
    methodology_section,
    owned_period,
    paragraph,
    paragraph_table,
    rule_set_label,
    score_source,
    section_heading,
    section_start,
    short_action_label,
    with_company_status,
    wrap_plain_row,
)
from hrdd.reports.schemas import (
    FlaggedHolding,
    HoldingRow,
    OwnedCompany,
    PortfolioReport,
    UnassessedHolding,
)
from hrdd.reports.text import escape_for_paragraph
from hrdd.vocab import RiskBand, enum_label

_HOLDINGS_COLUMNS = (
    ("Holding", 0.21),
    ("Identifiers", 0.15),
    ("Value", 0.13),
    # The share the totals use: of the market value where values are given, else the file's
    # weight (the methodology says which); never the file's weight beside a market value.
    ("Share", 0.07),
    ("Band", 0.14),  # room for "(evidence only)"
    ("Score", 0.06),
    ("Confidence", 0.10),
    ("Action", 0.14),
)
_HOLDINGS_NUMERIC_COLUMNS = (2, 3, 5)
# Weights adding up to 100% give or take the rounding slack the import allows above 100% are
# the whole portfolio.
_WHOLE_PORTFOLIO_TOLERANCE = MAX_TOTAL_WEIGHT - 1
_UNASSESSED_COLUMNS = (
    ("Holding", 0.3),
    ("Identifiers", 0.22),
    ("Value", 0.14),
    ("Share", 0.08),
    ("Reason", 0.26),
)
_UNASSESSED_NUMERIC_COLUMNS = (2, 3)


def _imported(imported_at: datetime | None) -> str:
    if imported_at is None:
        return "no holdings imported"
    return f"holdings imported {imported_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _plain_amount(value: Decimal | None) -> str:
    return NO_VALUE if value is None else f"{value:,.2f}"


def _share_of(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    return None if not whole else Decimal(part) / Decimal(whole)


def _holdings(count: int) -> str:
    return f"{count:,} holding" if count == 1 else f"{count:,} holdings"


def _named(holding: HoldingRow | UnassessedHolding) -> str:
    """The holding's name as the file gives it, with its company's status, the company it was
    matched to when that is named otherwise, and the other lines holding that company."""
    name = with_company_status(holding.name, holding.listing_status)
    if holding.matched_to is not None:
        name = f"{name}; matched to {holding.matched_to}"
    if holding.same_company_lines:
        name = f"{name}; {_same_company(holding.same_company_lines)}"
    return name


def _same_company(lines: Sequence[int]) -> str:
    numbers = ", ".join(str(line) for line in lines)
    return f"the same company as line{'s' if len(lines) > 1 else ''} {numbers} of the file"


def _rests_on(holding: FlaggedHolding) -> str:
    source = score_source(holding.assessment_status, draft_in_progress=holding.draft_in_progress)
    if holding.scored_through is None:
        return source
    return f"The score of {holding.scored_through}, which it owns: {source[:1].lower()}{source[1:]}"


def _band_cell(holding: HoldingRow) -> str:
    if holding.band is None:
        return "Unassessed"
    band = enum_label(holding.band)
    return f"{band} (evidence only)" if holding.evidence_only else band


class _PortfolioReportBuilder:
    def __init__(self, report: PortfolioReport, styles: Styles, width: float) -> None:
        self.report = report
        self.styles = styles
        self.width = width
        self.currency = report.key_figures.currency

    def _cell(self, text: str, column_width: float) -> Paragraph:
        return paragraph(text, self.styles.cell, width=cell_text_width(column_width))

    def _money(self, value: Decimal | None) -> str:
        return format_money(value, self.currency)

    def key_figures(self) -> list[Flowable]:
        report = self.report
        figures = report.key_figures
        story: list[Flowable] = [
            OutlineMark("Cover", key="cover"),
            Paragraph("Portfolio risk report", self.styles.subtitle),
            paragraph(report.portfolio_name, self.styles.title, width=self.width),
            paragraph(
                f"Prepared for {report.owner_organisation} · report date "
                f"{report.report_date.isoformat()} · {_imported(report.holdings_imported_at)} · "
                f"rule set {rule_set_label(report.rule_set)}",
                self.styles.body,
                width=self.width,
            ),
            Spacer(1, 6),
            *section_start("Key figures", self.styles, key="key-figures"),
        ]
        facts = [
            ("Total value", self._total_value()),
            ("Holdings", f"{figures.holdings_count:,}"),
            (
                "In holdings with an active red-flag override",
                self._exposure(
                    figures.value_with_active_override,
                    figures.share_with_active_override,
                    figures.holdings_with_active_override,
                ),
            ),
            (
                "Unassessed",
                self._exposure(
                    figures.value_unassessed, figures.share_unassessed, figures.unassessed_count
                ),
            ),
            (
                # Defined where it is read: the methodology pages come last.
                "Holdings needing escalation (action: escalate with other investors, vote, "
                "use governance rights, or divest)",
                f"{figures.needing_escalation:,}",
            ),
        ]
        if figures.on_evidence_alone_count:
            facts.insert(
                -1,
                (
                    "Scored on evidence alone (no submitted assessment; the band says nothing "
                    "about practice)",
                    self._exposure(
                        figures.value_on_evidence_alone,
                        figures.share_on_evidence_alone,
                        figures.on_evidence_alone_count,
                    ),
                ),
            )
        if figures.holdings_without_share and figures.share_basis is not ShareBasis.none:
            facts.append(
                (
                    "Counted by number only",
                    f"{_holdings(figures.holdings_without_share)} "
                    f"{'has' if figures.holdings_without_share == 1 else 'have'} no "
                    f"{'market value' if figures.money_known else 'weight'}",
                )
            )
        widths = [self.width * 0.4, self.width * 0.6]
        # Our own labels, numbers and the validated currency code: plain strings suffice.
        rows = [[label, value] for label, value in facts]
        story += [
            paragraph_table(["Figure", "Value"], rows, widths, self.styles, label_column=True),
            Spacer(1, 10),
            self._band_table(),
        ]
        return story

    def _total_value(self) -> str:
        figures = self.report.key_figures
        if figures.share_basis is ShareBasis.market_values:
            return self._money(figures.total_value)
        if figures.share_basis is ShareBasis.known_market_values:
            known = figures.holdings_count - figures.holdings_without_value
            return (
                f"{self._money(figures.total_value)}, known for {known:,} of "
                f"{_holdings(figures.holdings_count)}; shares of value are of this amount"
            )
        if figures.share_basis is ShareBasis.weights:
            # Market values for every holding would have been the basis: these are some.
            given = (
                f"{self._money(figures.total_value)} in the market values given for some "
                "holdings (values by band below are of those)"
                if figures.money_given
                else "Not given"
            )
            total = figures.weights_total
            if total is None or abs(total - 1) <= _WHOLE_PORTFOLIO_TOLERANCE:
                return f"{given}: shares of value come from the weight column of the imported file"
            # Weights are of the whole portfolio; a file covering part of it is read as given
            # and the shares below are of what it covers, which must be said.
            return (
                f"{given}: shares of value come from the file's weights, which add up to "
                f"{format_share(total)} of the portfolio; the shares below are shares of that "
                f"{format_share(total)} and add up to 100%, while the holdings table's Share "
                "column gives each weight as the file does"
            )
        if figures.holdings_count == 0:
            return "Not given: no holdings have been imported"
        return "Not given: the imported file has no market values or weights"

    def _exposure(self, value: Decimal, share: Decimal, holdings: int) -> str:
        """Money where market values were given, share of value where there are shares."""
        figures = self.report.key_figures
        parts = [_holdings(holdings)]
        if figures.share_basis is not ShareBasis.none:
            parts.insert(0, f"{format_share(share)} of value")
        counted = "; ".join(parts)
        return f"{self._money(value)} ({counted})" if figures.money_given else counted

    def _money_or_none(self, value: Decimal) -> str:
        """Money where market values were given (in a file with weights, the values given)."""
        return self._money(value) if self.report.key_figures.money_given else NO_VALUE

    def _share_or_none(self, share: Decimal) -> str:
        basis = self.report.key_figures.share_basis
        return NO_VALUE if basis is ShareBasis.none else format_share(share)

    def _band_table(self) -> Flowable:
        """Count-based and value-weighted figures per band, side by side."""
        figures = self.report.key_figures
        exposures = {exposure.band: exposure for exposure in figures.by_band}
        header = ["Band", "Holdings", "Share of holdings", "Value", "Share of value"]
        widths = [self.width * share for share in (0.2, 0.15, 0.2, 0.25, 0.2)]
        rows: list[list[Flowable | str]] = []
        style: list[tuple[Any, ...]] = []
        for row_index, band in enumerate(RiskBand, start=1):
            exposure = exposures.get(band)
            count = exposure.holdings if exposure else 0
            rows.append(
                [
                    enum_label(band),
                    f"{count:,}",
                    format_share(_share_of(count, figures.holdings_count)),
                    self._money_or_none(exposure.value if exposure else Decimal(0)),
                    self._share_or_none(exposure.share_of_value if exposure else Decimal(0)),
                ]
            )
            style += band_cell_style(0, row_index, band)
        rows.append(
            [
                "Unassessed",
                f"{figures.unassessed_count:,}",
                format_share(_share_of(figures.unassessed_count, figures.holdings_count)),
                self._money_or_none(figures.value_unassessed),
                self._share_or_none(figures.share_unassessed),
            ]
        )
        return paragraph_table(header, rows, widths, self.styles, extra_style=style)

    def charts(self) -> list[Flowable]:
        figures = self.report.key_figures
        by_band = figures.by_band
        half = self.width / 2
        if figures.money_known:
            exposure_caption = (
                f"Exposure: value per band and unassessed ({escape_for_paragraph(self.currency)})"
            )
        elif figures.share_basis is ShareBasis.weights:
            exposure_caption = "Exposure: share of value per band and unassessed (from weights)"
        else:
            exposure_caption = "Exposure: share of value per band and unassessed"
        captions = [
            Paragraph("Risk distribution: holdings per band, and unassessed", self.styles.small),
            Paragraph(exposure_caption, self.styles.small),
        ]
        exposure_chart = band_exposure_chart(
            by_band,
            figures.value_unassessed,
            figures.share_unassessed,
            half - 8,
            by_money=figures.money_known,
            has_shares=figures.share_basis is not ShareBasis.none,
        )
        charts = Table(
            [
                captions,
                [band_count_chart(by_band, figures.unassessed_count, half - 8), exposure_chart],
            ],
            colWidths=[half, half],
        )
        charts.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return section_start(
            "Risk distribution and exposure", self.styles, key="distribution", keep_with=[charts]
        )

    def _ownership_line(self, owned: OwnedCompany) -> str:
        percent = owned.stake_percent
        stake = "" if percent is None else f", {percent.normalize():f}% stake"
        period = owned_period(owned.owned_from, owned.owned_until, owned.dates_precision)
        line = f"{owned.company_name}{stake} ({period})"
        if owned.current:
            return line
        return (
            f"{line}: {'ended, no longer counts' if owned.ended else 'not current, does not count'}"
        )

    def _with_stakes_not_counted(self, text: str, stakes: Sequence[OwnedCompany]) -> str:
        """A table cell's text followed by the stakes that ended (or have not started), so a
        holding they left unscored says what it owned."""
        return "; ".join([text, *(f"stake in {self._ownership_line(s)}" for s in stakes)])

    def _holding_detail(self, key: str, holding: FlaggedHolding) -> list[Flowable]:
        widths = [self.width * 0.28, self.width * 0.72]
        rows: list[list[Flowable | str]] = []
        if holding.matched_to is not None:
            rows.append(["Matched to", self._cell(holding.matched_to, widths[1])])
        if holding.same_company_lines:
            also = (
                f"{_same_company(holding.same_company_lines).capitalize()}: each line is "
                "counted as a holding of its own in the figures"
            )
            rows.append(["Also held", self._cell(also, widths[1])])
        status = company_status_label(holding.listing_status)
        if status:
            rows.append(["Company status", status])
        if holding.products:
            rows.append(["Products known as", self._cell("; ".join(holding.products), widths[1])])
        if holding.identifiers:
            rows.append(
                ["Identifiers", self._cell(format_identifiers(holding.identifiers), widths[1])]
            )
        band_row = len(rows) + 3  # header, value and weight rows come first
        rows += [
            ["Value", self._money(holding.value)],
            ["Share of portfolio", format_weight(holding.weight)],
            [
                "Band and score",
                f"{enum_label(holding.band)}, {format_score(holding.score)} out of 100",
            ],
            ["Score rests on", self._cell(_rests_on(holding), widths[1])],
            ["Confidence", enum_label(holding.confidence)],
            ["Recommended action", action_label(holding.action, holding.company_listed)],
            [
                "Why this action",
                self._cell(
                    action_reason(
                        holding.action_reason, holding.company_listed, holding.listing_status
                    ),
                    widths[1],
                ),
            ],
        ]
        if holding.overrides:
            overrides = "<br/>".join(
                f"<b>{escape_for_paragraph(override.rule_id)}</b>: "
                f"{escape_for_paragraph(override.reason.rstrip('.'))}. "
                f"Lifts when: {escape_for_paragraph(override.lifts_when.rstrip('.'))}"
                + escape_for_paragraph(evidence_suffix(override.evidence))
                + "."
                for override in holding.overrides
            )
            rows.append(["Overrides fired", Paragraph(overrides, self.styles.cell)])
        if holding.exposure_via:
            owners = "<br/>".join(
                escape_for_paragraph(self._ownership_line(owned)) for owned in holding.exposure_via
            )
            rows.append(["Exposure through ownership", Paragraph(owners, self.styles.cell)])
        if holding.key_evidence:
            evidence = "<br/><br/>".join(
                citation_markup(c)
                + (
                    f"<br/><i>{escape_for_paragraph(c.no_longer_in_force)}</i>"
                    if c.no_longer_in_force
                    else ""
                )
                for c in holding.key_evidence
            )
            rows.append(["Key evidence", Paragraph(evidence, self.styles.cell)])
        table = paragraph_table(
            ["Item", "Detail"],
            rows,
            widths,
            self.styles,
            label_column=True,
            extra_style=band_cell_style(1, band_row, holding.band),
        )
        heading = section_heading(
            holding.name, self.styles.heading2, level=1, key=key, width=self.width
        )
        return [heading, table]

    def _detailed_section(
        self, title: str, key: str, intro: str, holdings: Sequence[FlaggedHolding]
    ) -> list[Flowable]:
        """A section of holding details. Its heading and introduction stay on the page of the
        first detail: a heading alone at the foot of a page introduces nothing."""
        details = [self._holding_detail(f"{key}-{index}", h) for index, h in enumerate(holdings)]
        first = details[0] if details else []
        story = section_start(
            title, self.styles, key=key, keep_with=[Paragraph(intro, self.styles.body), *first]
        )
        for detail in details[1:]:
            story += detail
        return story

    def flagged(self) -> list[Flowable]:
        flagged = self.report.flagged
        if not flagged:
            intro = "No holding is flagged."
        else:
            verb = "is" if len(flagged) == 1 else "are"
            intro = f"{_holdings(len(flagged))} {verb} flagged for attention."
        return self._detailed_section("Flagged holdings", "flagged", intro, flagged)

    def medium(self) -> list[Flowable]:
        medium = self.report.medium
        if not medium:
            return []
        intro = (
            f"{_holdings(len(medium))} {'is' if len(medium) == 1 else 'are'} in the medium band "
            "with no red flag: what each score rests on and the evidence to engage with."
        )
        return self._detailed_section("Medium-risk holdings", "medium", intro, medium)

    def evidence_only(self) -> list[Flowable]:
        holdings = self.report.evidence_only
        if not holdings:
            return []
        low_band = len(holdings)
        # The key figures count every holding scored on evidence alone; this section lists
        # the low-band ones, the others being detailed with the flagged or medium holdings.
        elsewhere = self.report.key_figures.on_evidence_alone_count - low_band
        others = ""
        if elsewhere == 1:
            others = "; the other one scored on evidence alone appears in the sections above"
        elif elsewhere > 1:
            others = (
                f"; the other {elsewhere:,} scored on evidence alone appear in the sections above"
            )
        intro = (
            f"{low_band:,} low-band {'holding is' if low_band == 1 else 'holdings are'} scored "
            'on evidence alone, with no submitted or final assessment, and marked "evidence '
            f'only" in the holdings table{others}. Such a score counts documented harm only, '
            "and a low band means the evidence on record weighs little now: it may be old, "
            "marked remediated, or reported by weaker sources, and a severe harm can be among "
            "it, so read the evidence behind each score (its key evidence below; all of it in the "
            "company report). Nor does the band mean the company's practice was checked, so "
            "each is to be engaged before its rating is relied on."
        )
        return self._detailed_section("Scored on evidence alone", "evidence-only", intro, holdings)

    def _holding_cells(self, holding: HoldingRow) -> list[str]:
        name = _named(holding)
        if holding.scored_through is not None:
            name = f"{name}; scored as its stake in {holding.scored_through}"
        return [
            self._with_stakes_not_counted(name, holding.stakes_not_counted),
            format_identifiers(holding.identifiers),
            _plain_amount(holding.value),
            format_weight(holding.weight),
            _band_cell(holding),
            format_score(holding.score),
            NO_VALUE if holding.confidence is None else enum_label(holding.confidence),
            NO_VALUE
            if holding.action is None
            else short_action_label(holding.action, holding.company_listed),
        ]

    def holdings(self) -> list[Flowable]:
        holdings = self.report.holdings
        story: list[Flowable] = [
            PageBreak(),
            *section_start("All holdings", self.styles, key="holdings"),
        ]
        if not holdings:
            return [*story, Paragraph("The portfolio has no holdings.", self.styles.body)]
        widths = [self.width * share for _, share in _HOLDINGS_COLUMNS]
        header = [name for name, _ in _HOLDINGS_COLUMNS]
        header[2] = f"Value ({self.currency})"
        rows = [wrap_plain_row(self._holding_cells(holding), widths) for holding in holdings]
        colours = [
            None if holding.band is None else BAND_TEXT_COLOURS[holding.band]
            for holding in holdings
        ]
        story += [
            Paragraph(
                f"{_holdings(len(holdings))}. Values in {escape_for_paragraph(self.currency)}; "
                f"text longer than {PLAIN_MAX_LINES} lines of its column is cut with an ellipsis.",
                self.styles.small,
            ),
            PlainRowsTable(
                header,
                rows,
                widths,
                right_aligned_columns=_HOLDINGS_NUMERIC_COLUMNS,
                colour_column=4,
                row_colours=colours,
            ),
        ]
        return story

    def _unassessed_cells(self, holding: UnassessedHolding) -> list[str]:
        return [
            _named(holding),
            format_identifiers(holding.identifiers),
            _plain_amount(holding.value),
            format_weight(holding.weight),
            self._with_stakes_not_counted(holding.reason, holding.stakes_not_counted),
        ]

    def unassessed(self) -> list[Flowable]:
        figures = self.report.key_figures
        unassessed: Sequence[UnassessedHolding] = self.report.unassessed
        story = section_start("Unassessed exposure", self.styles, key="unassessed")
        exposure = self._exposure(
            figures.value_unassessed, figures.share_unassessed, figures.unassessed_count
        )
        story.append(
            Paragraph(
                f"Holdings with no score: {exposure}. Each was not matched to a company, is "
                "waiting for someone to confirm which company it is, or is in a company with "
                "neither a submitted assessment nor evidence on record. They stay in the "
                "portfolio's exposure until they are matched and assessed. (Holdings scored on "
                'their evidence alone, with no submitted assessment yet, are marked "evidence '
                'only" in the table above; their recommended action is at least engagement.)',
                self.styles.body,
            )
        )
        if not unassessed:
            return story
        widths = [self.width * share for _, share in _UNASSESSED_COLUMNS]
        header = [name for name, _ in _UNASSESSED_COLUMNS]
        header[2] = f"Value ({self.currency})"
        rows = [wrap_plain_row(self._unassessed_cells(holding), widths) for holding in unassessed]
        story.append(
            PlainRowsTable(header, rows, widths, right_aligned_columns=_UNASSESSED_NUMERIC_COLUMNS)
        )
        return story

    def story(self) -> list[Flowable]:
        return [
            *self.key_figures(),
            *self.charts(),
            *self.flagged(),
            *self.medium(),
            *self.evidence_only(),
            *self.holdings(),
            *self.unassessed(),
            PageBreak(),
            *methodology_section(self.report.methodology, self.styles, self.width, "Methodology"),
        ]


def render_portfolio_report(
    report: PortfolioReport, out: BinaryIO, progress: ProgressCallback | None = None
) -> None:
    """Write the portfolio report for `report` as a PDF to `out`.

    `progress`, when given, is called with the finished fraction (0 to 1, rising, in steps of
    at least 1%) while pages are laid out, and with 1.0 once the file is written.
    """
    styles = build_styles()
    figures = report.key_figures
    document = ReportDocument(
        out,
        page_size=report.page_size,
        title=f"Portfolio risk report: {report.portfolio_name}",
        author=f"hrdd for {report.owner_organisation}",
        subject=(
            f"Human-rights risk of {_holdings(figures.holdings_count)} as of "
            f"{report.report_date.isoformat()}, rule set {report.rule_set.id} "
            f"version {report.rule_set.version}"
        ),
        header_text=f"{report.portfolio_name} · portfolio risk report",
        footer_text=(
            f"{report.owner_organisation} · report date {report.report_date.isoformat()} · "
            f"rule set {report.rule_set.id} v{report.rule_set.version}"
        ),
        report_date=report.report_date,
        progress=progress,
    )
    builder = _PortfolioReportBuilder(report, styles, document.width)
    document.build_report(builder.story())
