"""The company report: one assessed company, its score, the evidence behind it, the method."""

from collections.abc import Sequence
from typing import BinaryIO

from reportlab.platypus import Flowable, KeepTogether, PageBreak, Paragraph, Spacer

from hrdd.dates import iso_date
from hrdd.evidence.content import CLOSING_EVIDENCE_TYPES
from hrdd.reports.charts import evidence_risk_chart, theme_bar_chart
from hrdd.reports.layout import (
    NO_VALUE,
    OutlineMark,
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
    format_date,
    format_identifiers,
    format_score,
    methodology_section,
    owned_period,
    paragraph,
    paragraph_table,
    rule_set_label,
    score_source,
    section_start,
    with_company_status,
)
from hrdd.reports.schemas import (
    CompanyReport,
    EvidenceLink,
    RiskPoint,
    SayDoGapRow,
    ScoreSummary,
    TimelineEntry,
)
from hrdd.reports.text import escape_for_paragraph, link_markup
from hrdd.vocab import AssessmentStatus, EvidenceStatus, enum_label, words_of


class _CompanyReportBuilder:
    def __init__(self, report: CompanyReport, styles: Styles, width: float) -> None:
        self.report = report
        self.styles = styles
        self.width = width

    def _cell(self, text: str, column_width: float) -> Paragraph:
        return paragraph(text, self.styles.cell, width=cell_text_width(column_width))

    def _heading(self, title: str, key: str, keep_with: Sequence[Flowable] = ()) -> list[Flowable]:
        return section_start(title, self.styles, key=key, keep_with=keep_with)

    def _facts_table(self, facts: Sequence[tuple[str, str]]) -> Flowable:
        """Pairs of our own label and an untrusted value."""
        widths = [self.width * 0.3, self.width * 0.7]
        rows = [[label, self._cell(value, widths[1])] for label, value in facts]
        return paragraph_table(["Item", "Value"], rows, widths, self.styles, label_column=True)

    def cover(self) -> list[Flowable]:
        report = self.report
        story: list[Flowable] = [
            OutlineMark("Cover", key="cover"),
            Paragraph("Human-rights due diligence report", self.styles.subtitle),
            paragraph(report.company_name, self.styles.title, width=self.width),
        ]
        if report.aliases:
            story.append(paragraph("Also known as: " + "; ".join(report.aliases), self.styles.body))
        if report.products:
            story.append(
                paragraph("Products known as: " + "; ".join(report.products), self.styles.body)
            )
        facts = [("Report date", report.report_date.isoformat())]
        status = company_status_label(report.listing_status)
        if status:
            facts.append(("Company status", status))
        if report.identifiers:
            facts.append(("Identifiers", format_identifiers(report.identifiers)))
        if report.prepared_for:
            facts.append(("Prepared for", report.prepared_for))
        facts += [
            ("Assessment", score_source(report.assessment_status)),
            ("Questions answered", _answered_fact(report)),
            ("Rule set", rule_set_label(report.rule_set)),
            ("Inputs hash", report.inputs_hash),
        ]
        story += [
            Spacer(1, 10),
            self._facts_table(facts),
            Spacer(1, 10),
            Paragraph(
                "The score in this report was computed from the recorded answers, evidence and "
                "commitments with the rule set named above. The inputs hash identifies those "
                "inputs exactly, so the same score can be reproduced later.",
                self.styles.small,
            ),
            # The summary follows on the first page: the result is what a reader looks for.
            Spacer(1, 6),
        ]
        return story

    def summary(self) -> list[Flowable]:
        summary = self.report.summary
        widths = [self.width * 0.3, self.width * 0.7]
        rows: list[list[Flowable | str]] = [
            ["Overall risk", f"{format_score(summary.overall)} out of 100"],
            ["Risk band", enum_label(summary.band)],
            ["Confidence", enum_label(summary.confidence)],
            [
                "Sensitivity range",
                f"{format_score(summary.range_low)} to {format_score(summary.range_high)}",
            ],
            [
                "Recommended action",
                action_label(summary.recommended_action, self.report.company_listed),
            ],
            *self._what_it_rests_on(summary, widths[1]),
            [
                "Why this action",
                self._cell(
                    action_reason(
                        summary.action_reason,
                        self.report.company_listed,
                        self.report.listing_status,
                    ),
                    widths[1],
                ),
            ],
        ]
        table = paragraph_table(
            ["Measure", "Result"],
            rows,
            widths,
            self.styles,
            label_column=True,
            extra_style=band_cell_style(1, 2, summary.band),
        )
        return [*self._heading("Summary", "summary"), table, Spacer(1, 8)]

    def _what_it_rests_on(
        self, summary: ScoreSummary, column_width: float
    ) -> list[list[Flowable | str]]:
        """The two risks the overall is the higher of, so a reader sees whether documented
        harm or missing practice (in a draft, unanswered questions) sets it."""
        if summary.evidence_risk is None or summary.practice_gap_risk is None:
            return []
        report = self.report
        unanswered = report.questions_applicable - report.questions_answered
        gaps = (
            f" ({unanswered} of the {report.questions_applicable} scored questions are "
            "unanswered and count as gaps)"
            if unanswered > 0
            else ""
        )
        text = (
            f"Documented harm (evidence risk now): {format_score(summary.evidence_risk)}. "
            f"Gap in verified human rights practice: {format_score(summary.practice_gap_risk)}"
            f"{gaps}. The overall is the higher of the two, raised to the floor of any red "
            "flag fired; good practice never offsets harm."
        )
        return [["What the score rests on", self._cell(text, column_width)]]

    def ownership(self) -> list[Flowable]:
        """Who owns the company, as the registry records it, and what the registry says is not
        known: an investor's leverage runs through the owners, and a private company's
        governance rights are theirs."""
        report = self.report
        story = self._heading("Ownership on record", "ownership")
        if report.owners:
            widths = [self.width * 0.3, self.width * 0.12, self.width * 0.2, self.width * 0.38]
            rows: list[list[Flowable | str]] = [
                [
                    self._cell(
                        f"{owner.owner_name} ({words_of(owner.owner_kind)})"
                        + ("" if owner.current else "; not current"),
                        widths[0],
                    ),
                    NO_VALUE
                    if owner.stake_percent is None
                    else f"{owner.stake_percent.normalize():f}%",
                    owned_period(owner.owned_from, owner.owned_until, owner.dates_precision),
                    Paragraph(
                        "<br/>".join(
                            part
                            for part in (
                                _cited(owner.source) if owner.source else "No source recorded",
                                escape_for_paragraph(owner.note) if owner.note else "",
                            )
                            if part
                        ),
                        self.styles.cell,
                    ),
                ]
                for owner in report.owners
            ]
            story.append(
                paragraph_table(["Owner", "Stake", "Period", "Source"], rows, widths, self.styles)
            )
        else:
            story.append(
                Paragraph(
                    "The registry records no owner of this company, so this report cannot say "
                    "through whom investors are exposed to it.",
                    self.styles.body,
                )
            )
        if report.company_notes:
            story += [
                Spacer(1, 6),
                paragraph(
                    f"Registry notes: {report.company_notes}", self.styles.body, width=self.width
                ),
            ]
        return [*story, Spacer(1, 8)]

    def theme_scores(self) -> list[Flowable]:
        themes = self.report.theme_scores
        story = self._heading(
            "Theme scores",
            "themes",
            keep_with=[
                Paragraph(
                    "Commitment score per theme, from 0 (nothing disclosed or done) to 100. "
                    "Claimed: as the answers state it. Verified: with each claim recorded in "
                    "the evidence registry (a commitment) weighed by how far it was fulfilled, "
                    "so a claim only the company reports counts for less and one the evidence "
                    f"contradicts counts against its theme; {self._unrecorded_claims()} The "
                    "difference is the say-do gap.",
                    self.styles.small,
                ),
                theme_bar_chart(themes, self.width),
            ],
        )
        if themes:
            # Named as in the chart and the methodology; the rule file's identifiers stay out.
            widths = [self.width * 0.52, self.width * 0.16, self.width * 0.16, self.width * 0.16]
            rows = [
                [
                    self._cell(theme.title, widths[0]),
                    NO_VALUE if theme.weight is None else f"{theme.weight:g}",
                    format_score(theme.claimed),
                    format_score(theme.verified),
                ]
                for theme in themes
            ]
            header = ["Theme", "Weight", "Claimed", "Verified"]
            story += [Spacer(1, 6), paragraph_table(header, rows, widths, self.styles)]
        return story

    def evidence_risk(self) -> list[Flowable]:
        points = self.report.evidence_risk_series
        # The caption reads the chart: it starts a page with it, never below it on the next.
        chart_and_caption: list[Flowable] = [evidence_risk_chart(points, self.width)]
        if points:
            chart_and_caption.append(Paragraph(_risk_series_caption(points), self.styles.small))
        return self._heading(
            "Evidence risk over time", "evidence-risk", keep_with=chart_and_caption
        )

    def _evidence_links(self, links: Sequence[EvidenceLink]) -> str:
        return "<br/>".join(link_markup(link.url, link.title) for link in links)

    def _unrecorded_claims(self) -> str:
        company, unsourced = (
            self.report.company_sources_count_as,
            self.report.unsourced_answers_count_as,
        )
        if company is None:
            return "an answer no recorded claim speaks to counts as given, with its sources."
        cases = f"as {enum_label(company).lower()} when every source it cites is the company's own"
        if unsourced is not None:
            cases += (
                f", and as {enum_label(unsourced).lower()} when no source it cites names a "
                "publisher, an address or whose it is"
            )
        return (
            "an answer no recorded claim speaks to counts as given when it cites an "
            f"independent source, {cases}."
        )

    def _rating_and_evidence(self, gap: SayDoGapRow, column_width: float) -> str:
        parts = []
        if gap.rationale:
            parts.append(
                escape_for_paragraph(
                    gap.rationale,
                    line_width=cell_text_width(column_width),
                    font_name=self.styles.cell.fontName,
                    font_size=self.styles.cell.fontSize,
                )
            )
        links = self._evidence_links(gap.contradicting_evidence)
        parts.append(
            f"<b>Contradicting evidence:</b><br/>{links}"
            if links
            else "No contradicting evidence recorded."
        )
        return "<br/>".join(parts)

    def say_do_gaps(self) -> list[Flowable]:
        story: list[Flowable] = self._heading("Say-do gap", "say-do-gap")
        gaps = self.report.say_do_gaps
        if not gaps:
            none = "No commitments were recorded, and no answer rests on the company's word alone."
            return [*story, Paragraph(none, self.styles.body)]
        widths = [self.width * 0.34, self.width * 0.11, self.width * 0.13, self.width * 0.42]
        rows = [
            [
                self._cell(gap.commitment, widths[0]),
                format_date(gap.committed_on, gap.committed_precision),
                enum_label(gap.status),
                Paragraph(self._rating_and_evidence(gap, widths[3]), self.styles.cell),
            ]
            for gap in gaps
        ]
        header = ["Commitment", "Made on", "Status", "Why so, and contradicting evidence"]
        return [*story, paragraph_table(header, rows, widths, self.styles)]

    def timeline(self) -> list[Flowable]:
        story: list[Flowable] = self._heading("Evidence timeline", "timeline")
        entries = sorted(self.report.timeline, key=lambda entry: entry.occurred_on)
        if not entries:
            return [*story, Paragraph("No evidence items were recorded.", self.styles.body)]
        widths = [self.width * 0.13, self.width * 0.37, self.width * 0.5]
        rows: list[list[Flowable | str]] = []
        for entry in entries:
            event = escape_for_paragraph(
                entry.summary,
                line_width=cell_text_width(widths[1]),
                font_name=self.styles.cell.fontName,
                font_size=self.styles.cell.fontSize,
            )
            if entry.evidence_type is not None:
                event += f"<br/><i>{enum_label(entry.evidence_type)}</i>"
            weighed_by = _weighed_by(entry)
            if weighed_by:
                event += "<br/>" + escape_for_paragraph(weighed_by)
            rows.append(
                [
                    format_date(entry.occurred_on, entry.occurred_precision),
                    Paragraph(event, self.styles.cell),
                    Paragraph(
                        "<br/><br/>".join(citation_markup(c) for c in entry.citations),
                        self.styles.cell,
                    ),
                ]
            )
        return [*story, paragraph_table(["Date", "Event", "Sources"], rows, widths, self.styles)]

    def overrides(self) -> list[Flowable]:
        story: list[Flowable] = self._heading("Overrides fired", "overrides")
        overrides = self.report.overrides
        if not overrides:
            return [
                *story,
                Paragraph("No red-flag override applies to this company.", self.styles.body),
            ]
        widths = [self.width * 0.2, self.width * 0.45, self.width * 0.35]
        rows = [
            [
                self._cell(override.rule_id, widths[0]),
                self._cell(override.reason + evidence_suffix(override.evidence), widths[1]),
                self._cell(override.lifts_when, widths[2]),
            ]
            for override in overrides
        ]
        return [
            *story,
            paragraph_table(["Rule", "Why it fired", "Lifts when"], rows, widths, self.styles),
        ]

    def input_notes(self) -> list[Flowable]:
        """What the score says of items it used as given, next to the red flags those items
        leave in place (a closure on the company's word alone closes nothing)."""
        notes = self.report.input_notes
        if not notes:
            return []
        story: list[Flowable] = self._heading(
            "Notes on the inputs",
            "input-notes",
            keep_with=[
                Paragraph(
                    "How the rule set read these evidence items, which the timeline lists:",
                    self.styles.body,
                )
            ],
        )
        for note in notes:
            item = f"{note.item_title} ({format_date(note.item_date, note.item_precision)})"
            story.append(
                Paragraph(
                    f"<b>{escape_for_paragraph(item)}</b>: {escape_for_paragraph(note.text)}.",
                    self.styles.body,
                )
            )
        return story

    def answers(self) -> list[Flowable]:
        story: list[Flowable] = [PageBreak(), *self._heading("Appendix A: answers", "answers")]
        if not self.report.answers:
            return [*story, Paragraph("No answers were recorded.", self.styles.body)]
        for answer in self.report.answers:
            question = paragraph(
                f"{answer.question_id}: {answer.question}", self.styles.heading2, width=self.width
            )
            body: list[Flowable] = [
                paragraph(answer.answer or "(no answer text)", self.styles.body, width=self.width)
            ]
            if answer.evidence:
                body.append(
                    Paragraph(
                        "<b>Evidence:</b> " + "; ".join(map(_cited, answer.evidence)),
                        self.styles.small,
                    )
                )
            story += [KeepTogether([question, body[0]]), *body[1:]]
        return story

    def methodology(self) -> list[Flowable]:
        return [
            PageBreak(),
            *methodology_section(
                self.report.methodology, self.styles, self.width, "Appendix B: methodology"
            ),
        ]

    def story(self) -> list[Flowable]:
        return [
            *self.cover(),
            *self.summary(),
            *self.ownership(),
            *self.theme_scores(),
            *self.evidence_risk(),
            *self.say_do_gaps(),
            *self.timeline(),
            *self.overrides(),
            *self.input_notes(),
            *self.answers(),
            *self.methodology(),
        ]


def _weighed_by(entry: TimelineEntry) -> str:
    """Severity, the company's role, the status and the company's responses, in one line each
    (plain text): what the item weighs by. A closing item weighs nothing itself, so it says
    what it closes instead."""
    if entry.evidence_type in CLOSING_EVIDENCE_TYPES:
        lines = ["Closes: " + "; ".join(entry.closes) + "." if entry.closes else ""]
    else:
        lines = [_harm_facts(entry)]
        if entry.severity is not None and entry.severity_rationale:
            lines.append(f"Why severity {entry.severity}: {entry.severity_rationale}")
    if entry.status_note:
        lines.append(f"Status: {entry.status_note}")
    lines += [
        f"Company response ({words_of(response.kind)}, "
        f"{format_date(response.on, response.precision)}): {response.summary}"
        for response in entry.responses
    ]
    return "\n".join(line for line in lines if line)


def _harm_facts(entry: TimelineEntry) -> str:
    facts = [
        "Not rated (a list entry)" if entry.severity is None else f"Severity {entry.severity} of 5"
    ]
    if entry.company_role is not None:
        facts.append(f"company's role: {words_of(entry.company_role)}")
    if entry.status is EvidenceStatus.remediated:
        facts.append(
            "remediated" + (f" on {entry.remediated_on.isoformat()}" if entry.remediated_on else "")
        )
    elif entry.status is not None:
        facts.append(words_of(entry.status))
    return "; ".join(facts) + "."


def _answered_fact(report: CompanyReport) -> str:
    fact = (
        f"{report.questions_answered} of the {report.questions_applicable} scored questions "
        "that apply"
    )
    blank = report.questions_without_information
    if blank:
        fact += (
            f"; {blank} of them {'says' if blank == 1 else 'say'} no information was found, "
            "which counts as a gap in practice, not as something known about the company"
        )
    return fact


def _risk_series_caption(points: Sequence[RiskPoint]) -> str:
    latest = points[-1]
    peak = max(points, key=lambda point: point.value)
    return (
        f"Latest value {format_score(latest.value)} on {latest.on.isoformat()}; "
        f"highest point of the chart {format_score(peak.value)} on {peak.on.isoformat()} (the "
        "score's own evidence peak looks back over the rule set's peak window only). This is "
        "the documented harm alone: the overall score is the higher of it and the gap in "
        "verified practice, raised to the floor of any red flag fired, so it can read higher."
    )


def render_company_report(report: CompanyReport, out: BinaryIO) -> None:
    """Write the company report for `report` as a PDF to `out`."""
    styles = build_styles()
    document = ReportDocument(
        out,
        page_size=report.page_size,
        title=f"Human-rights due diligence report: {report.company_name}",
        author=f"hrdd for {report.prepared_for}" if report.prepared_for else "hrdd",
        subject=(
            f"Risk assessment of {report.company_name} as of {report.report_date.isoformat()}, "
            f"rule set {report.rule_set.id} version {report.rule_set.version}"
        ),
        header_text=(
            f"{with_company_status(report.company_name, report.listing_status)} · "
            "human-rights due diligence report"
            + (
                " · DRAFT ASSESSMENT, not submitted"
                if report.assessment_status is AssessmentStatus.draft
                else ""
            )
        ),
        footer_text=f"Report date {report.report_date.isoformat()} · inputs {report.inputs_hash}",
        report_date=report.report_date,
    )
    builder = _CompanyReportBuilder(report, styles, document.width)
    document.build_report(builder.story())


def _cited(link: EvidenceLink) -> str:
    """Title (linked), then who published it, when, and where: a printed report keeps them."""
    details = [
        part
        for part in (
            link.publisher,
            iso_date(link.published_on, link.published_precision) if link.published_on else None,
            link.url,
            "the company's own source" if link.company_source else None,
            "declared independent, on the company's website"
            if link.declared_independent_on_company_site
            else None,
        )
        if part
    ]
    suffix = f" ({escape_for_paragraph(', '.join(details))})" if details else ""
    return link_markup(link.url, link.title) + suffix
